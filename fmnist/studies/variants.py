"""Study `variants` (spec 004 section 3.2, spec 000): a base CNN and variants that each
change one thing, plus spec 000's reference network, judged on validation loss."""
import numpy as np

from fmnist.core import plotting, stats
from fmnist.core.layers import layer_table
from fmnist.core.pages import Page
from fmnist.core.words import number_words, training_words
from fmnist.studies import figures, groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.engine import Column, Context, Study, planned
from fmnist.studies.measure import per_class, seeded, seeds, splits, stop_rule, train_and_measure
from fmnist.studies.networks import ReferenceNet, VariantCNN

# 5,000 training images: 16 rows x 3 seeds and the reference network
TRAIN_PER_CLASS = 500
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


QUICK = ("base", "Adam", "no batch norm", "reference (000)")  # --quick: a few rows


def plan(ctx: Context) -> list[RunConfig]:
    """Every variant once per seed; spec 000's reference network once (seed --seed), shown but not
    ranked: it is another network, not a one-change variant, and costs 10 variants' time."""
    rows = [RunConfig(**{"study": "variants", "name": name, "change": change, **BASE, **change_to, **stop_rule(ctx),
                          "train_per_class": per_class(ctx, TRAIN_PER_CLASS), "quick": ctx.options.quick})
            for name, change, change_to in VARIANTS if not ctx.options.quick or name in QUICK]
    reference = [r for r in rows if r.network == "reference"]
    return (seeded([r for r in rows if r.network != "reference"], ctx)
            + [r.but(row=r.name, seed=seeds(ctx)[0]) for r in reference])


def compared(config: dict) -> bool:
    return config["network"] != "reference"


def build(config: dict):
    if config["network"] == "reference":
        return ReferenceNet()
    return VariantCNN(config["widths"], config["hidden"], config["dropout"], config["batch_norm"])


def run(config: dict, ctx: Context) -> dict:
    model = build(config)
    record, _ = train_and_measure(model, config, splits(ctx, config["train_per_class"], config["seed"]), ctx)
    if config["network"] == "reference":
        record["extras"] = {"first_filters": model.features.conv1.weight.detach().cpu()[:, 0].tolist(),
                            "layer_table": layer_table(model)}
    return record


def _lowest(records: list[dict]) -> str | None:
    """The row of the lowest mean validation loss among the compared rows."""
    best = groups.ranked(records, "val_loss", compared)[:1]
    return best[0][0] if best else None


def rows(records: list[dict]) -> list[dict]:
    out = []
    for r in records:
        c = r["config"]
        row = {"name": c["name"], "seed": c["seed"], "change": c["change"], "conv": len(c["widths"]),
               "dropout": c["dropout"], "optimizer": {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}[c["optimizer"]],
               "momentum": c["momentum"] if c["optimizer"] != "adam" else None, "l2": c["weight_decay"],
               "lr": c["lr"], "batch": c["batch_size"], "epochs": c["epochs"], "seconds": r["seconds"]}
        if "diverged" not in r:
            row.update({f"{s}_{m}": (100 if m == "acc" else 1) * r[s]["accuracy" if m == "acc" else "loss"]
                        for s in ("train", "val", "test") for m in ("loss", "acc")})
        out.append(row)
    return out


COLUMNS = (Column("name", "name"), Column("seed", "seed"), Column("what changed", "change"), Column("conv layers", "conv"),
           Column("dropout", "dropout", "{:g}"), Column("optimizer", "optimizer"), Column("momentum", "momentum", "{:g}"),
           Column("L2", "l2", "{:g}"), Column("learning rate", "lr", "{:g}"), Column("batch size", "batch"),
           Column("epochs", "epochs"), Column("train loss", "train_loss", "{:.4f}"),
           Column("train acc %", "train_acc", "{:.2f}"), Column("val loss", "val_loss", "{:.4f}"),
           Column("val acc %", "val_acc", "{:.2f}"), Column("test loss", "test_loss", "{:.4f}"),
           Column("test acc %", "test_acc", "{:.2f}"), Column("seconds", "seconds", "{:.0f}"))


def describe(runs: list[dict], records: list[dict]) -> dict:
    """What the row changed, and its validation accuracy minus the base's, paired by seed."""
    c = runs[0]["config"]
    base = groups.by_row(records).get("base")
    out = {"what changed": c["change"]}
    if base and groups.row_of(c) != "base" and compared(c):
        d = groups.difference(base, runs, "val_acc")
        out["minus base (CI)"] = (f"{d['mean']:+.2f}" if d["low"] is None else
                                           f"{d['mean']:+.2f} ({d['low']:+.2f}, {d['high']:+.2f})"
                                           + (" ≠0" if stats.excludes_zero(d) else ""))
    return out


def network_words(config) -> str:
    """A variant's network in words computed from its configuration (VariantCNN's layers)."""
    return (f"{len(config['widths'])} conv layers ({', '.join(map(str, config['widths']))}; 3x3, "
            f"{'batch norm, ' if config['batch_norm'] else ''}ReLU, 2x2 max-pool), dropout "
            f"{number_words(config['dropout'])}, FC {config['hidden']}")


def base_words(records: list[dict]) -> str:
    """The base row's network and training, in words computed from its configuration."""
    base = [r["config"] for r in records if groups.row_of(r["config"]) == "base"]
    return f"Base: {network_words(base[0])}, {training_words(base[0])}." if base else "Base: not run."


def notes(results: dict) -> list[str]:
    records = planned(results)
    sizes = records[0].get("sizes", {}) if records else {}
    diverged = [r["config"]["name"] for r in records if "diverged" in r]
    n_seeds = len({r["config"]["seed"] for r in records})
    return ([f"Every variant: seeds {', '.join(str(s) for s in sorted({r['config']['seed'] for r in records}))} "
             f"(each seed its own stratified {sizes.get('train', 0):,} training images, the same in every row, with "
             f"the same initial weights wherever the network is the same, and the same batch order); {sizes.get('val', 0):,} "
             f"validation and {sizes.get('test', 0):,} test images; the learning rate shown after a one-epoch warm-up, "
             "divided by 10 after 2 epochs without a lower validation loss; the weights of the epoch with the lowest validation loss kept.",
             f"Traded for time: {sizes.get('train', 0):,} training images per run, so that {n_seeds} seeds of every "
             "row converge within the budget; accuracies are lower than a "
             "full-data run's. The reference network (spec 000) runs one seed and is not ranked: it is shown for "
             "its filters and layer table.",
             base_words(records),
             "Cells: mean ± the 95 % t-interval's half-width over the seeds (n). minus base: validation accuracy, the per-seed "
             "difference's mean and 95 % interval; ≠0 where it excludes zero. Losses are plain cross-entropy in "
             "evaluation mode, without the L2 term. * = the lowest mean validation loss."]
            + ([f"Diverged (loss not finite): {', '.join(diverged)}."] if diverged else []))


def pages(results: dict) -> list[Page]:
    records = planned(results)
    first = {}
    for r in records:  # each row's first seed
        first.setdefault(groups.row_of(r["config"]), r)
    out = [Page("variants_curves", "Spec 004 3.2, curves", "training and validation loss of every variant",
                figures.small_multiples_figure(
                    "Training loss (mean over each epoch, training mode) and validation loss per epoch, "
                    "every variant's first seed, shared axes", {row: r.get("history", []) for row, r in first.items()},
                    _lowest(records)))]
    reference = next((r for r in records if r["config"]["network"] == "reference" and "extras" in r), None)
    if reference:
        out.append(Page("reference_filters", "Spec 000, reference network", "its 64 first-layer filters",
                        plotting.kernel_grid_figure(np.asarray(reference["extras"]["first_filters"]),
                                                 "Reference network: the 64 3x3 filters of conv1, each scaled "
                                                 "to its own range")))
        out.append(Page("reference_layers", "Spec 000, reference network", "its layer table",
                        plotting.layer_table_figure("Reference network (spec 000)", reference["extras"]["layer_table"], "")))
    return out


def headline(results: dict) -> list[str]:
    records = planned(results)
    rows = groups.by_row(records)
    out = [groups.best_line(records, "val_loss", compared)]
    if "base" in rows:
        detected = []
        for row, runs in rows.items():
            if row != "base" and compared(runs[0]["config"]):
                d = groups.difference(rows["base"], runs, "val_acc")
                if stats.excludes_zero(d):
                    detected.append(f"{row} {d['mean']:+.2f}")
        out.append(f"validation accuracy against the base, paired by seed: the 95 % interval excludes zero for "
                   f"{len(detected)} of {sum(compared(r[0]['config']) for r in rows.values()) - 1} variants"
                   + (f" ({', '.join(detected)} points)" if detected else "")
                   + "; for the others no difference was detected at this budget")
    return out


class Variants(Study):
    name, spec, measure = "variants", "Spec 004 3.2 / 000", "val_loss"
    title = "A base CNN and variants, one change at a time"
    columns = COLUMNS
    plan, run, rows, pages = staticmethod(plan), staticmethod(run), staticmethod(rows), staticmethod(pages)
    notes, headline = staticmethod(notes), staticmethod(headline)
    compared, describe = staticmethod(compared), staticmethod(describe)

    def networks(self, config) -> list:
        return [build(config)]


STUDY = Variants()
