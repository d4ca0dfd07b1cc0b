"""Study `variants` (spec 004 section 3.2, spec 000): a base CNN and variants that each
change one thing, plus spec 000's reference network, judged on validation loss."""
import numpy as np

from .. import analysis_plots as aplots
from .. import plots
from . import plots as splots
from .runner import Column, Context, Study, planned
from ..layers import layer_table
from ..networks import ReferenceNet, VariantCNN
from ..report import Page
from .runs import epochs, splits, train_and_measure

TRAIN_PER_CLASS = 1200  # 12,000 training images: 17 networks in 15 minutes on 2 cores
BASE = {"network": "variant", "widths": [24, 48, 96], "hidden": 128, "dropout": 0.25, "batch_norm": True,
        "init": "he", "optimizer": "sgd", "momentum": 0.9, "weight_decay": 1e-4, "lr": 0.05,
        "batch_size": 128, "flip": True}
# (name, what changed, the change); the optimizers run at their usual learning rate.
VARIANTS = (
    ("base", "-", {}),
    ("Adam", "optimizer Adam (lr 1e-3)", {"optimizer": "adam", "lr": 1e-3, "momentum": 0.0}),
    ("RMSprop", "optimizer RMSprop (lr 1e-3)", {"optimizer": "rmsprop", "lr": 1e-3, "momentum": 0.0}),
    ("no momentum", "SGD without momentum", {"momentum": 0.0}),
    ("dropout 0", "dropout 0.25 -> 0", {"dropout": 0.0}),
    ("dropout 0.5", "dropout 0.25 -> 0.5", {"dropout": 0.5}),
    ("L2 0", "L2 1e-4 -> 0", {"weight_decay": 0.0}),
    ("L2 1e-3", "L2 1e-4 -> 1e-3", {"weight_decay": 1e-3}),
    ("2 conv", "fewer conv layers: 24, 48", {"widths": [24, 48]}),
    ("4 conv", "more conv layers: 24, 48, 96, 96", {"widths": [24, 48, 96, 96]}),
    ("no batch norm", "batch norm off", {"batch_norm": False}),
    ("no flips", "no random mirroring", {"flip": False}),
    ("Xavier init", "He -> Xavier initialisation", {"init": "xavier"}),
    ("lr x0.1", "learning rate 0.05 -> 0.005", {"lr": 0.005}),
    ("lr x10", "learning rate 0.05 -> 0.5", {"lr": 0.5}),
    ("batch 512", "batch size 128 -> 512", {"batch_size": 512}),
    ("reference (000)", "spec 000's network: conv 64-128-256-256, FC 1024-1024, BN on the logits",
     {"network": "reference", "widths": [64, 128, 256, 256], "hidden": 1024, "dropout": 0.0, "batch_norm": False}),
)


def plan(ctx: Context) -> list[dict]:
    n = epochs(ctx, 5)
    return [{"study": "variants", "name": name, "change": change, **BASE, **change_to, "epochs": n,
             "train_per_class": TRAIN_PER_CLASS, "seed": ctx.options.seed, "quick": ctx.options.quick}
            for name, change, change_to in VARIANTS]


def build(config: dict):
    if config["network"] == "reference":
        return ReferenceNet()
    return VariantCNN(config["widths"], config["hidden"], config["dropout"], config["batch_norm"])


def run(config: dict, ctx: Context) -> dict:
    model = build(config)
    record, _ = train_and_measure(model, config, splits(ctx, config["train_per_class"]), ctx)
    if config["network"] == "reference":
        record["extras"] = {"first_filters": model.features.conv1.weight.detach().cpu()[:, 0].tolist(),
                            "layer_table": layer_table(model)}
    return record


def _lowest(records: list[dict]) -> dict | None:
    return min((r for r in records if "diverged" not in r), key=lambda r: r["val"]["loss"], default=None)


def rows(records: list[dict]) -> list[dict]:
    best = _lowest(records)
    out = []
    for r in records:
        c = r["config"]
        row = {"name": c["name"] + (" *" if r is best else ""), "change": c["change"], "conv": len(c["widths"]),
               "dropout": c["dropout"], "optimizer": {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}[c["optimizer"]],
               "momentum": c["momentum"] if c["optimizer"] != "adam" else None, "l2": c["weight_decay"],
               "lr": c["lr"], "batch": c["batch_size"], "epochs": c["epochs"], "seconds": r["seconds"]}
        if "diverged" not in r:
            row.update({f"{s}_{m}": (100 if m == "acc" else 1) * r[s]["accuracy" if m == "acc" else "loss"]
                        for s in ("train", "val", "test") for m in ("loss", "acc")})
        out.append(row)
    return out


COLUMNS = (Column("name", "name"), Column("what changed", "change"), Column("conv layers", "conv"),
           Column("dropout", "dropout", "{:g}"), Column("optimizer", "optimizer"), Column("momentum", "momentum", "{:g}"),
           Column("L2", "l2", "{:g}"), Column("learning rate", "lr", "{:g}"), Column("batch size", "batch"),
           Column("epochs", "epochs"), Column("train loss", "train_loss", "{:.4f}"),
           Column("train acc %", "train_acc", "{:.2f}"), Column("val loss", "val_loss", "{:.4f}"),
           Column("val acc %", "val_acc", "{:.2f}"), Column("test loss", "test_loss", "{:.4f}"),
           Column("test acc %", "test_acc", "{:.2f}"), Column("seconds", "seconds", "{:.0f}"))


def notes(results: dict) -> list[str]:
    records = planned(results)
    sizes = records[0].get("sizes", {}) if records else {}
    diverged = [r["config"]["name"] for r in records if "diverged" in r]
    return ([f"Every run: seed {records[0]['config']['seed'] if records else '-'}, the same "
            f"{sizes.get('train', 0):,} training images (stratified), {sizes.get('val', 0):,} validation and "
            f"{sizes.get('test', 0):,} test images, one-cycle learning rate (the peak is the learning rate shown), "
            "the weights of the epoch with the lowest validation loss kept.",
            "Base: 3 conv layers (24, 48, 96; 3x3, batch norm, ReLU, 2x2 max-pool), dropout 0.25, FC 128, SGD with "
            "Nesterov momentum 0.9, He initialisation, random mirroring.",
            "Losses are plain cross-entropy in evaluation mode, without the L2 term (nor label smoothing, which no run "
            "uses), so rows compare. * = the lowest validation loss."]
            + ([f"Diverged (loss not finite): {', '.join(diverged)}."] if diverged else []))


def pages(results: dict) -> list[Page]:
    records = planned(results)
    best = _lowest(records)
    out = [Page("variants_curves", "Spec 004 3.2, curves", "training and validation loss of every variant",
                splots.small_multiples_figure(
                    "Training loss (mean over each epoch, training mode) and validation loss per epoch, "
                    "every variant, shared axes", {r["config"]["name"]: r.get("history", []) for r in records},
                    best["config"]["name"] if best else None))]
    reference = next((r for r in records if r["config"]["network"] == "reference" and "extras" in r), None)
    if reference:
        out.append(Page("reference_filters", "Spec 000, reference network", "its 64 first-layer filters",
                        plots.kernel_grid_figure(np.asarray(reference["extras"]["first_filters"]),
                                                 "Reference network: the 64 3x3 filters of conv1, each scaled "
                                                 "to its own range")))
        out.append(Page("reference_layers", "Spec 000, reference network", "its layer table",
                        aplots.layer_table_figure("Reference network (spec 000)", reference["extras"]["layer_table"], "")))
    return out


def headline(results: dict) -> list[str]:
    records = planned(results)
    best, base = _lowest(records), next((r for r in records if r["config"]["name"] == "base" and "val" in r), None)
    say = lambda r: (f"{r['config']['name']}: val loss {r['val']['loss']:.4f}, val {100 * r['val']['accuracy']:.2f}%, "  # noqa: E731
                     f"test {100 * r['test']['accuracy']:.2f}%")
    return ([f"lowest validation loss: {say(best)}"] if best else []) + ([say(base)] if base else [])


STUDY = Study(name="variants", spec="Spec 004 3.2 / 000", title="A base CNN and variants, one change at a time",
              plan=plan, run=run, columns=COLUMNS, rows=rows, pages=pages, notes=notes, headline=headline,
              networks=lambda c: [build(c)])
