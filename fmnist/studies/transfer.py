"""Studies `pretrain` (spec 004 section 3.4) and `transfer` (3.5): where should a network's
starting weights come from when labelled data is scarce? Each first trains its upstream
network once (an autoencoder; a Fashion-MNIST-2 classifier), saves it in the study folder,
then sweeps the fraction of labelled Fashion-MNIST-1 images (studies/sweep.py), starting every
run from a fresh copy of those weights or from random ones.
"""
import torch
import torch.nn.functional as F

from fmnist.core import files, storage
from fmnist.core.data import CLASSES
from fmnist.core.pages import Page
from fmnist.core.training import fit, predict
from fmnist.core.words import OPTIMIZER_NAMES, number_words
from fmnist.studies import figures, groups, tuning
from fmnist.studies.measure import per_class, rounded, train_and_measure
from fmnist.studies.networks import ConvAutoencoder, HalfCNN
from fmnist.studies.study import Context, Study, as_config, planned, subset
from fmnist.studies.sweep import (
    COLUMNS,
    HALF1,
    HALF2,
    compared,
    describe,
    halves,
    rows,
    sweep_page,
    sweep_plan,
    sweep_run,
    verdicts,
)

# --- pretrain -------------------------------------------------------------------------------

# The autoencoder's images under the default budget: a stratified 1,000 per class of each half
# (Fashion-MNIST-2's from its training, validation and test images together), 10,000 in all;
# --budget spec: every image the spec names (about 62,000, at about 35 s an epoch on 2 cores).
AUTOENCODER_PER_CLASS = 1000


def pretrain_plan(ctx: Context) -> list[dict]:
    return sweep_plan(ctx, "pretrain", ("random", "pretrained"),
                      {"name": "autoencoder", "objective": "reconstruct", "file": "autoencoder.pth",
                       "train_per_class": per_class(ctx, AUTOENCODER_PER_CLASS)})


def pretrain_run(config: dict, ctx: Context) -> dict:
    if config["kind"] == "upstream":
        return autoencoder_run(config, ctx)
    model = HalfCNN(len(HALF1))
    if config["start"] == "pretrained":
        copy_encoder(model, storage.load_weights(ConvAutoencoder(), ctx.folder / "autoencoder.pth", "autoencoder",
                                                 "run the study again: its autoencoder run is redone first"))
    return sweep_run(model, config, ctx)


def copy_encoder(model: HalfCNN, autoencoder: ConvAutoencoder) -> None:
    """The encoder's values into the classifier's convolutional part (same structure): copied
    into the classifier's own tensors, so training one never changes the other."""
    model.features.load_state_dict(autoencoder.encoder.state_dict())


def autoencoder_run(config: dict, ctx: Context) -> dict:
    """Every Fashion-MNIST-2 image (training, validation and test, as spec 004 does) and the
    Fashion-MNIST-1 training images; the Fashion-MNIST-1 validation images are held out."""
    one, two = halves(ctx, HALF1), halves(ctx, HALF2)
    parts = [
        (
            torch.cat([two[k][0] for k in ("train", "val", "test")]),
            torch.cat([two[k][1] for k in ("train", "val", "test")]),
        ),
        one["train"],
    ]
    if config.get("train_per_class") and not ctx.options.quick:  # the default budget: a stratified share of each
        parts = [subset(part, config["train_per_class"], config["seed"]) for part in parts]
    x = torch.cat([part[0] for part in parts])
    model = ConvAutoencoder()
    history = fit(model, (x, torch.zeros(len(x), dtype=torch.long)), one["val"], as_config(config).settings(),
                  ctx.device, config["seed"], name="autoencoder", log=lambda line: None)
    storage.save_weights(model, ctx.folder / "autoencoder.pth")
    examples = {}
    for name, split, classes in (("Fashion-MNIST-1", one, HALF1), ("Fashion-MNIST-2", two, HALF2)):
        x_test, y_test = split["test"]
        idx = torch.stack([(y_test == k).nonzero()[0, 0] for k in range(len(classes)) if (y_test == k).any()])
        out = predict(model, x_test[idx], ctx.device)
        examples[name] = {"images": rounded(x_test[idx, 0], 3), "reconstructions": rounded(out[:, 0], 3),
                          "classes": [CLASSES[classes[int(k)]] for k in y_test[idx]],
                          "test_mse": float(F.mse_loss(predict(model, x_test, ctx.device), x_test)),
                          "held_out": name == "Fashion-MNIST-1"}  # Fashion-MNIST-2's test images trained it
    return {"history": history["epochs"], "best_epoch": history["best_epoch"], "epoch_steps": history["epoch_steps"],
            "images": len(x),
            "parameters": sum(p.numel() for p in model.parameters()), "examples": examples}


def pretrain_notes(results: dict) -> list[str]:
    records = planned(results)
    ae = next((r for r in records if r["config"]["kind"] == "upstream" and "history" in r), None)
    lines = _common_notes(
        records, "random initialisation", "the autoencoder's encoder weights (copied; nothing frozen)"
    )
    if ae:
        best = ae["history"][ae["best_epoch"] - 1]
        per = ae["config"].get("train_per_class")
        drawn = (f"a stratified {per:,} per class of Fashion-MNIST-2's training, validation and test images and of "
                 "Fashion-MNIST-1's training images" if per else
                 "every Fashion-MNIST-2 image and the Fashion-MNIST-1 training images")
        lines.insert(
            0,
            f"Autoencoder: {ae['images']:,} images ({drawn}), {groups.budget([ae])}, validation MSE "
            f"{best['val_loss']:.4f} on the "
            "held-out Fashion-MNIST-1 validation images; MSE on the test images of "
            + ", ".join(
                f"{k} {e['test_mse']:.4f} ({'held out' if k == 'Fashion-MNIST-1' else 'in its training set'})"
                for k, e in ae["examples"].items()
            )
            + ".",
        )
    return lines + verdicts(records, ("random", "pretrained"))


def pretrain_pages(results: dict) -> list[Page]:
    records = planned(results)
    ae = next((r for r in records if r["config"]["kind"] == "upstream" and "history" in r), None)
    out = [Page("pretrain_autoencoder", "Spec 004 3.4, autoencoder", "its loss and reconstructions",
                figures.reconstructions_figure(ae["history"], ae["examples"]))] if ae else []
    return out + [sweep_page("pretrain_sweep", "Spec 004 3.4, pre-training", records, ("random", "pretrained"))]


def _common_notes(records: list[dict], first: str, second: str) -> list[str]:
    sweep = [r for r in records if r["config"]["kind"] == "sweep" and "diverged" not in r]
    sizes = sweep[0]["sizes"] if sweep else {}
    return [f"Fashion-MNIST-1 = {', '.join(CLASSES[k] for k in HALF1)}; Fashion-MNIST-2 = "
            f"{', '.join(CLASSES[k] for k in HALF2)}; each relabelled 0-4. Every sweep run: a fresh HalfCNN, "
            f"the same {sizes.get('val', 0):,} validation and {sizes.get('test', 0):,} test images; seeds "
            f"{', '.join(str(s) for s in sorted({r['config']['seed'] for r in sweep}))} at every fraction, each seed "
            "its own class-stratified, nested training subsets, the same for both starts (as are its batch order "
            "and its new layers' initial weights).",
            "Cells: mean ± the 95 % t-interval's half-width over the seeds (n); * = the lowest mean validation "
            f"loss. {len({r['config']['fraction'] for r in sweep})} fractions of "
            + (f"a pool of {sweep[0]['config']['train_per_class']} labelled images per class (drawn per seed)"
               if sweep and sweep[0]["config"].get("train_per_class") else "every labelled image") + ".",
            f"Starts: random = {first}; the other = {second}. Accuracies are at the epoch of the lowest validation "
            "loss, counted over every image (no per-batch division); losses are plain cross-entropy."]


# --- transfer -------------------------------------------------------------------------------

def transfer_plan(ctx: Context) -> list[dict]:
    """The source network trains with the tuning study's winning settings (spec 004 3.5.2), so
    that study must have finished first (`all` runs it first)."""
    best = tuning.winner(files.load_results(ctx.folder.parent / "tuning" / "results.json", "tuning"))
    if best is None:
        raise storage.UserError("transfer trains its source network with the settings the tuning study chose: "
                                "run python experiments.py tuning first (with the same --quick and --budget)")
    return sweep_plan(ctx, "transfer", ("random", "transferred"),
                      {"name": "source (Fashion-MNIST-2)", "file": "source.pth",
                       **{k: best[k] for k in ("optimizer", "lr", "momentum", "dropout")}})


def transfer_run(config: dict, ctx: Context) -> dict:
    if config["kind"] == "upstream":
        model = HalfCNN(len(HALF2), dropout=config["dropout"])
        record, _ = train_and_measure(model, config, halves(ctx, HALF2), ctx, num_classes=len(HALF2))
        storage.save_weights(model, ctx.folder / "source.pth")
        return record
    model = HalfCNN(len(HALF1))
    if config["start"] == "transferred":
        transfer_weights(model, ctx)
    return sweep_run(model, config, ctx)


def transfer_weights(model: HalfCNN, ctx: Context) -> None:
    """Everything but the classification layer from a fresh read of source.pth; that layer
    keeps its own new random weights."""
    source = storage.load_weights(HalfCNN(len(HALF2)), ctx.folder / "source.pth", "Fashion-MNIST-2 network",
                                  "run the study again: its source run is redone first")
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("classifier.fc.")}
    missing, _ = model.load_state_dict(state, strict=False)
    assert sorted(missing) == ["classifier.fc.bias", "classifier.fc.weight"], missing


def transfer_notes(results: dict) -> list[str]:
    records = planned(results)
    source = next((r for r in records if r["config"]["kind"] == "upstream" and "test" in r), None)
    lines = _common_notes(records, "random initialisation",
                          "the Fashion-MNIST-2 network's weights with a new classification layer (nothing frozen)")
    if source:
        c = source["config"]
        lines.insert(
            0,
            f"Source network on Fashion-MNIST-2, trained with the tuning study's choice ("
            f"{OPTIMIZER_NAMES[c['optimizer']]} lr {number_words(c['lr'])}, dropout "
            f"{number_words(c.get('dropout', 0.25))}; {groups.budget([source])}): train "
            f"{100 * source['train']['accuracy']:.2f}%, "
            f"validation {100 * source['val']['accuracy']:.2f}%, test {100 * source['test']['accuracy']:.2f}%.",
        )
    return lines + verdicts(records, ("random", "transferred"))


def transfer_pages(results: dict) -> list[Page]:
    return [
        sweep_page("transfer_sweep", "Spec 004 3.5, transfer learning", planned(results), ("random", "transferred"))
    ]


def _files(config: dict) -> list[str]:
    """A finished run counts only while the upstream weights it was started from are there."""
    if config["kind"] == "upstream":
        return [config["file"]]
    return [] if config["start"] == "random" else ["autoencoder.pth" if config["study"] == "pretrain" else "source.pth"]


def _networks(config: dict) -> list:
    """A run's own network, then the network whose weights it starts from (if any)."""
    upstream = (
        ConvAutoencoder() if config["study"] == "pretrain" else HalfCNN(len(HALF2), dropout=config.get("dropout", 0.25))
    )
    if config["kind"] == "upstream":
        return [upstream]
    return [HalfCNN(len(HALF1))] + ([] if config["start"] == "random" else [upstream])


def _headline(results: dict, starts: tuple) -> list[str]:
    """The summary's lines: each measure's claim across the sweep."""
    return [v.strip() for v in verdicts(planned(results), starts)[1::2]]


class Sweep(Study):
    """A fraction sweep (sweep.py): an upstream run, then every fraction, seed and start."""
    columns, measure = COLUMNS, "val_loss"
    rows, files, networks = staticmethod(rows), staticmethod(_files), staticmethod(_networks)
    compared, describe = staticmethod(compared), staticmethod(describe)
    starts: tuple = ()
    classes = HALF1

    def headline(self, results: dict) -> list[str]:
        return _headline(results, self.starts)

class Pretrain(Sweep):
    name, spec, starts = "pretrain", "Spec 004 3.4", ("random", "pretrained")
    title = "Autoencoder pre-training against random initialisation"
    plan, run = staticmethod(pretrain_plan), staticmethod(pretrain_run)
    pages, notes = staticmethod(pretrain_pages), staticmethod(pretrain_notes)


class Transfer(Sweep):
    name, spec, starts = "transfer", "Spec 004 3.5", ("random", "transferred")
    title = "Transfer from Fashion-MNIST-2 against random initialisation"
    plan, run = staticmethod(transfer_plan), staticmethod(transfer_run)
    pages, notes = staticmethod(transfer_pages), staticmethod(transfer_notes)


PRETRAIN, TRANSFER = Pretrain(), Transfer()
