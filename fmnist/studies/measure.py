"""One classifier run of a study, the same for every study: the data it sees, its training
settings, and what is measured after training (with the package's own fit, predict and metrics)."""
import numpy as np
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from fmnist.core import diagnostics
from fmnist.core.data import CLASSES, stratified
from fmnist.core.metrics import confusion_matrix, macro_f1, scores
from fmnist.core.training import fit, init_weights, predict
from fmnist.studies.configs import RunConfig
from fmnist.studies.study import Context, as_config, subset

# --quick: a small stratified subset of every split and one epoch: a smoke run for CI and tests.
QUICK_PER_CLASS = {"train": 50, "val": 30, "test": 50}
TSNE_PER_CLASS, QUICK_TSNE_PER_CLASS = 100, 10


SEEDS, QUICK_SEEDS = 3, 2  # seeds per compared row; --quick: two, the fewest an interval needs

# The stop rule of every compared run: early stopping on the validation loss with spec 000's
# patience, under a ceiling no converging run should reach (a run that does is marked "not
# converged"), with the plateau schedule, so that where a run ends does not depend on the ceiling.
PATIENCE, CEILING, QUICK_CEILING = 5, 60, 1


def splits(ctx: Context, train_per_class: int | None, seed: int = 0, val_per_class: int | None = None) -> dict:
    """The study's data: a stratified training subset drawn with the run's seed (None: all of
    it), so runs of one seed in different rows see the same images; the validation split whole
    (or a fixed stratified subset) and the test split whole. Under --quick, small fixed subsets."""
    if ctx.options.quick:
        return {k: subset(ctx.splits[k], n) for k, n in QUICK_PER_CLASS.items()}
    return {"train": subset(ctx.splits["train"], train_per_class, seed),
            "val": subset(ctx.splits["val"], val_per_class), "test": ctx.splits["test"]}


def per_class(ctx: Context, default: int | None) -> int | None:
    """Training images per class: the study's `default` under the default budget, every image
    (None) under --budget spec."""
    return None if ctx.options.budget == "spec" and not ctx.options.quick else default


def stop_rule(ctx: Context, ceiling: int = CEILING) -> dict:
    """The fields of a converging run: epoch ceiling (--epochs, else `ceiling`; --quick: QUICK_CEILING),
    patience and schedule."""
    return {"epochs": ctx.options.epochs or (QUICK_CEILING if ctx.options.quick else ceiling),
            "patience": PATIENCE, "schedule": "plateau"}


def epochs(ctx: Context, fixed: int) -> int:
    """A row's fixed number of epochs (the settings study varies the epochs themselves; --epochs
    sets the ceiling of the converging rows, not these); --quick: 1."""
    return 1 if ctx.options.quick else fixed


def seeds(ctx: Context) -> list[int]:
    """The seeds of every compared row: --seed, --seed + 1, ... (--seeds of them)."""
    n = ctx.options.seeds or (QUICK_SEEDS if ctx.options.quick else SEEDS)
    return [ctx.options.seed + s for s in range(n)]


def seeded(configs: list[RunConfig], ctx: Context) -> list[RunConfig]:
    """Each row's configuration once per seed, the row name kept in `row`."""
    return [c.but(row=c.name, name=f"{c.name} seed {s}", seed=s) for c in configs for s in seeds(ctx)]


def multiply_adds(model: nn.Module) -> int:
    """Multiply-adds of one image's forward pass, counted by torch.utils.flop_counter (FLOPs / 2)."""
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 1, 28, 28, device=next(model.parameters()).device))
    model.train(was_training)
    return counter.get_total_flops() // 2


def train_and_measure(model: nn.Module, config: dict, data: dict, ctx: Context,
                      num_classes: int = 10) -> tuple[dict, torch.Tensor]:
    """Train with `fit` (the weights of the lowest validation loss are kept), then score the
    training and test sets in evaluation mode; the validation scores are fit's own, from the
    epoch whose weights were kept. Returns the record and test logits."""
    start(model, config)
    history = fit(model, data["train"], data["val"], as_config(config).settings(), ctx.device, config["seed"],
                  name=config["name"], log=lambda line: None)
    return measured(model, config, history, data, ctx, predict(model, data["test"][0], ctx.device), num_classes)


def start(model: nn.Module, config: dict) -> None:
    """A run's first step, before any training: the seed, then the configuration's initialisation."""
    torch.manual_seed(config["seed"])
    init_weights(model, config.get("init", "default"))


def measured(model: nn.Module, config: dict, history: dict, data: dict, ctx: Context, logits: torch.Tensor,
             num_classes: int = 10) -> tuple[dict, torch.Tensor]:
    """A trained run's record: fit's `history`, the training set scored again in evaluation mode,
    the validation scores of the kept epoch and the test `logits` scored (confusion, macro F1)."""
    record = {"parameters": sum(p.numel() for p in model.parameters()), "multiply_adds": multiply_adds(model),
              "history": history["epochs"], "best_epoch": history["best_epoch"], "epoch_steps": history["epoch_steps"],
              "seconds_per_epoch": float(np.mean([e["seconds"] for e in history["epochs"]]))}
    if config.get("iterations"):  # every batch's training loss, for a learning curve over iterations
        record["iterations"] = rounded(history["iterations"])
    record["train"] = scores(predict(model, data["train"][0], ctx.device), data["train"][1])
    best = history["epochs"][history["best_epoch"] - 1]  # fit scored the validation set with these weights
    record["val"] = {"loss": best["val_loss"], "accuracy": best["val_acc"]}
    confusion = confusion_matrix(data["test"][1], logits.argmax(1), num_classes)
    record["test"] = {**scores(logits, data["test"][1]), "confusion": confusion.tolist(),
                      "macro_f1": macro_f1(confusion)}
    record["sizes"] = {k: len(v[1]) for k, v in data.items()}
    return record, logits


def rounded(values, digits: int = 4) -> list:
    return np.round(np.asarray(values, dtype=float), digits).tolist()


def test_extras(model: nn.Module, data: dict, logits: torch.Tensor, ctx: Context) -> dict:
    """What the figures of a highlighted network need: ROC curves, t-SNE of the penultimate
    features on a stratified test subset, and 4 right and 4 wrong test predictions."""
    x, y = data["test"]
    curves = diagnostics.roc(y, logits)
    roc = {"macro_auc": curves["macro_auc"],
           "classes": {k: {"fpr": rounded(c["fpr"]), "tpr": rounded(c["tpr"]), "auc": c["auc"]}
                       for k, c in curves["classes"].items()}}
    chosen = stratified(y, QUICK_TSNE_PER_CLASS if ctx.options.quick else TSNE_PER_CLASS, 0)
    feats, layer = diagnostics.penultimate(model, x[chosen], ctx.device)
    tsne = {"points": rounded(diagnostics.tsne(feats, 0), 3), "labels": y[chosen].tolist(), "layer": layer,
            "note": f"{len(chosen):,} test images, {len(chosen) // len(CLASSES)} per class (stratified); perplexity 30"}
    return {"roc": roc, "tsne": tsne, "right_wrong": diagnostics.pick_right_wrong(x, y, logits, 0)}
