"""Study `variants` (spec 004 section 3.2): on Fashion-MNIST-1, a base CNN and variants made
iteratively, as the spec asks: each candidate change is applied to the best network so far and
kept only when it lowers the mean validation loss over the seeds; every run trains to
convergence. The table has the spec's columns: each variant's settings and its training,
validation and test loss and accuracy (losses without the L2 term)."""
import torch

from fmnist.core import stats
from fmnist.core.activations import response_shares, stages
from fmnist.core.data import CLASSES, stratified
from fmnist.core.pages import Page
from fmnist.core.words import OPTIMIZER_NAMES, listing, number_words, training_words
from fmnist.studies import figures, groups
from fmnist.studies.channels import maps_pages, shuffled_ratio
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import per_class, rounded, seeded, stop_rule, train_and_measure
from fmnist.studies.networks import VariantCNN
from fmnist.studies.study import SCORE_COLUMNS, Column, Context, Study, planned, subset
from fmnist.studies.sweep import HALF1, halves

# 500 training images per class of Fashion-MNIST-1 (2,500, drawn per seed): 15 rows x 3 seeds
# converge within the budget; --budget spec takes every training image.
TRAIN_PER_CLASS = 500
# A plain start, so that each kind of change the spec lists can show what it does.
BASE = {"network": "variant", "widths": [32, 64], "hidden": 128, "dropout": 0.0, "batch_norm": False,
        "init": "default", "optimizer": "sgd", "momentum": 0.0, "weight_decay": 0.0, "lr": 0.05,
        "batch_size": 64, "flip": False}
USUAL_LR = {"sgd": 0.05, "adam": 1e-3, "rmsprop": 1e-3}  # each optimizer at its usual rate


def _optimizer(name: str):
    return lambda c: None if c["optimizer"] == name else {"optimizer": name, "lr": USUAL_LR[name], "momentum": 0.0}


def _momentum(m: float):  # momentum excludes Adam, as the spec's table has it
    return lambda c: None if c["optimizer"] == "adam" or c["momentum"] == m else {"momentum": m}


def _set(key: str, value):
    return lambda c: None if c[key] == value else {key: value}


def _lr(factor: float):
    return lambda c: {"lr": round(c["lr"] * factor, 8)}


# The candidate changes in the order they are tried (name, what it changes, the change to the best
# so far or None where it does not apply); the spec's list: optimizer, momentum (not for Adam),
# conv layers, L2, dropout, learning rate; then batch norm and mirroring.
CANDIDATES = (
    ("Adam", "optimizer Adam (lr 1e-3)", _optimizer("adam")),
    ("RMSprop", "optimizer RMSprop (lr 1e-3)", _optimizer("rmsprop")),
    ("momentum 0.9", "momentum 0.9", _momentum(0.9)),
    ("momentum 0.95", "momentum 0.95", _momentum(0.95)),
    ("3 conv", "3 conv layers (32, 64, 128)", _set("widths", [32, 64, 128])),
    ("5 conv", "5 conv layers (32, 64, 128, 128, 128)", _set("widths", [32, 64, 128, 128, 128])),
    ("L2 1e-4", "L2 1e-4", _set("weight_decay", 1e-4)),
    ("L2 1e-3", "L2 1e-3", _set("weight_decay", 1e-3)),
    ("dropout 0.25", "dropout 0.25", _set("dropout", 0.25)),
    ("dropout 0.5", "dropout 0.5", _set("dropout", 0.5)),
    ("lr x0.3", "learning rate x0.3", _lr(0.3)),
    ("lr x3", "learning rate x3", _lr(3.0)),
    ("batch norm", "batch norm after every conv", _set("batch_norm", True)),
    ("mirroring", "random left-right mirroring", _set("flip", True)),
)
QUICK_CANDIDATES = 2  # --quick: the base and the first two changes
BASE_ROW = "0. base"


def _row(ctx: Context, index: int, name: str, change: str, settings: dict) -> RunConfig:
    return RunConfig(**{"study": "variants", "name": f"{index}. {name}", "change": change, **settings,
                        **stop_rule(ctx), "train_per_class": per_class(ctx, TRAIN_PER_CLASS),
                        "quick": ctx.options.quick})


def _settings(config: dict) -> dict:
    return {k: config[k] for k in BASE}


def path(records: list[dict]) -> list[dict]:
    """The iterations so far, replayed from the records: each candidate's row, whether its runs are
    all in, and whether it was kept (its mean validation loss below the best so far's)."""
    rows = groups.by_row(records)
    finished = {groups.row_of(r["config"]) for r in records}
    steps, best = [], None
    for row, runs in rows.items():
        if row == BASE_ROW:
            best = {"row": row, "settings": _settings(runs[0]["config"]), "loss": _mean_loss(runs)}
            steps.append({"row": row, "kept": True, "loss": best["loss"], "runs": runs})
    if best is None:
        return steps
    for i, (name, change, make) in enumerate(CANDIDATES, start=1):
        changed = make(best["settings"])
        if changed is None:
            continue
        row = f"{i}. {name}"
        if row not in finished:
            steps.append({"row": row, "next": {**best["settings"], **changed}, "name": name, "change": change,
                          "index": i})
            return steps
        runs = rows.get(row, [])
        loss = _mean_loss(runs) if runs else float("inf")  # every seed diverged: not kept
        kept = loss < best["loss"]
        steps.append({"row": row, "kept": kept, "loss": loss, "runs": runs, "against": best["row"],
                      "best_loss": best["loss"]})
        if kept:
            best = {"row": row, "settings": {**best["settings"], **changed}, "loss": loss}
    return steps


def _mean_loss(runs: list[dict]) -> float:
    return stats.interval(list(groups.per_seed(runs, "val_loss").values()))["mean"]


# --- spec 004 3.3: the feature maps of the winner --------------------------------------------
INSPECT_PER_CLASS = 100  # Fashion-MNIST-1 test images per class the channels are described on
SHOWN_CHANNELS = 8       # channels of each conv layer drawn and described


def _data(config: dict, ctx: Context) -> dict:
    """A run's data: Fashion-MNIST-1, its training images drawn with the run's seed."""
    data = halves(ctx, HALF1)
    if not ctx.options.quick:
        data["train"] = subset(data["train"], config["train_per_class"], config["seed"])
    return data


def build(config: dict):
    return VariantCNN(config["widths"], config["hidden"], config["dropout"], config["batch_norm"],
                      num_classes=len(HALF1))


COLUMNS = (
    Column("name", "name"),
    Column("seed", "seed"),
    Column("conv layers", "conv"),
    Column("dropout", "dropout", "{:g}"),
    Column("optimizer", "optimizer"),
    Column("momentum", "momentum", "{:g}"),
    Column("L2", "l2", "{:g}"),
    Column("learning rate", "lr", "{:g}"),
    Column("batch norm", "bn"),
    Column("mirroring", "flip"),
    *SCORE_COLUMNS,
    Column("seconds", "seconds", "{:.0f}"),
)


def settings_words(c: dict) -> dict:
    """A row's settings as the spec's table has them."""
    return {"conv": str(len(c["widths"])), "dropout": number_words(c["dropout"]),
            "optimizer": OPTIMIZER_NAMES[c["optimizer"]],
            "momentum": "n/a" if c["optimizer"] == "adam" else number_words(c["momentum"]),
            "L2": number_words(c["weight_decay"]), "lr": number_words(c["lr"]),
            "BN": "yes" if c["batch_norm"] else "no", "flip": "yes" if c["flip"] else "no"}


def network_words(config) -> str:
    """A variant's network in words computed from its configuration (VariantCNN's layers)."""
    pooled = "each" if len(config["widths"]) <= 3 else "each of the first three"  # VariantCNN pools three times at most
    return (f"{len(config['widths'])} conv layers ({', '.join(map(str, config['widths']))}; 3x3, "
            f"{'batch norm, ' if config['batch_norm'] else ''}ReLU, 2x2 max-pool after {pooled}), "
            f"dropout {number_words(config['dropout'])}, FC {config['hidden']}, {len(HALF1)} outputs")


def base_words(records: list[dict]) -> str:
    """The base row's network and training, in words computed from its configuration."""
    base = [r["config"] for r in records if groups.row_of(r["config"]) == BASE_ROW]
    return f"Base: {network_words(base[0])}, {training_words(base[0])}." if base else "Base: not run."


def kept_changes(records: list[dict]) -> tuple[int | None, list[dict]]:
    """The changes tried in turn (None before the base is in) and each one kept, against the best
    before it: {"row", "against", "before_loss", "loss" (mean validation losses), "difference" (its
    validation loss minus the best-before's, paired by seed), "clear" (that interval below zero:
    lower beyond the seeds' spread), "unconverged" (groups.ceiling_words of the two rows)}."""
    steps = [s for s in path(records) if "runs" in s]
    if not steps:
        return None, []
    out = []
    for s in steps[1:]:
        if s["kept"]:
            before = next(x for x in steps if x["row"] == s["against"])
            d = groups.difference(before["runs"], s["runs"], "val_loss")
            out.append({"row": s["row"], "against": s["against"], "before_loss": s["best_loss"], "loss": s["loss"],
                        "difference": d, "clear": bool(stats.excludes_zero(d) and d["high"] < 0),
                        "unconverged": groups.ceiling_words({s["against"]: before["runs"], s["row"]: s["runs"]})})
    return len(steps) - 1, out


def kept_words(kept: int, clear: list[str], tried: int) -> str:
    """What the kept changes' verdicts add up to: the spec keeps a change that lowers the mean,
    and only a change whose 95 % interval excludes zero lowered it by more than the seeds vary;
    the count of those set against what chance gives for the `tried` changes."""
    if not clear:
        return (" (the spec's rule); no kept change's paired 95 % interval excludes zero, so which changes helped "
                "is not known at this budget")
    against = stats.chance_words(len(clear), tried, "changes tried", one_side=True)
    if len(clear) == kept:
        return f" (the spec's rule); each one's paired 95 % interval excludes zero ({against})"
    rest = kept - len(clear)
    return (f" (the spec's rule); only {listing(clear)}'s paired 95 % interval excludes zero ({against}), the "
            f"other {rest} were kept on the mean alone (their intervals include zero: not shown to help)")


class Variants(Study):
    name, spec, measure = "variants", "Spec 004 3.2", "val_loss"
    classes = HALF1
    title = "A base CNN and nine or more variants made iteratively on Fashion-MNIST-1"
    columns = COLUMNS

    def plan(self, ctx: Context) -> list[RunConfig]:
        """The base; `extend` adds each candidate in turn."""
        return seeded([_row(ctx, 0, BASE_ROW.split(". ", 1)[1], "-", BASE)], ctx)

    def extend(self, ctx: Context, records: list[dict]) -> list[RunConfig]:
        """The next candidate change applied to the best network so far, once every earlier one is in."""
        steps = path(records)
        if not steps or "next" not in steps[-1]:
            return []
        step = steps[-1]
        if ctx.options.quick and step["index"] > QUICK_CANDIDATES:
            return []
        return seeded([_row(ctx, step["index"], step["name"], step["change"], step["next"])], ctx)

    def run(self, config: dict, ctx: Context) -> dict:
        record, _ = train_and_measure(build(config), config, _data(config, ctx), ctx, num_classes=len(HALF1))
        return record

    def rows(self, records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            c = r["config"]
            row = {"name": c["name"], "seed": c["seed"], "change": c["change"], "conv": len(c["widths"]),
                   "dropout": c["dropout"], "optimizer": OPTIMIZER_NAMES[c["optimizer"]],
                   "momentum": c["momentum"] if c["optimizer"] != "adam" else None, "l2": c["weight_decay"],
                   "lr": c["lr"], "bn": "yes" if c["batch_norm"] else "no", "flip": "yes" if c["flip"] else "no",
                   "epochs": groups.epochs_run(r), "seconds": r["seconds"]}
            if "diverged" not in r:
                row.update({f"{s}_{m}": (100 if m == "acc" else 1) * r[s]["accuracy" if m == "acc" else "loss"]
                            for s in ("train", "val", "test") for m in ("loss", "acc")})
            out.append(row)
        return out

    def pages(self, results: dict) -> list[Page]:
        records = planned(results)
        first = groups.first_seeds(records)
        best = groups.ranked(records, "val_loss")[:1]
        inspected = results.get("finish", {}).get("inspected")
        maps = [page for layer in (inspected or {}).get("layers", []) for page in maps_pages(inspected, layer)]
        return [Page("variants_curves", "Spec 004 3.2, curves", "training and validation loss of every variant",
                     figures.small_multiples_figure(
                         "Training loss (mean over each epoch, training mode) and validation loss per epoch, "
                         "every variant's first seed, shared axes", {row: r["history"] for row, r in first.items()},
                         best[0][0] if best else None))] + maps

    def finish(self, results: dict, ctx: Context) -> dict:
        """Spec 004 3.3: the variant of the lowest mean validation loss is the network whose feature
        maps are inspected. Its first seed's run is trained again (the same run: same seed, data and
        batch order), then every conv layer's maps are drawn for one test image per class, and each
        shown channel is described on INSPECT_PER_CLASS test images per class: where on the garment
        its response falls and which class drives it most."""
        ranked = groups.ranked(planned(results), "val_loss")
        if not ranked:
            return {}
        row, runs = ranked[0]
        run = min(runs, key=lambda r: r["config"]["seed"])
        config = run["config"]
        torch.manual_seed(config["seed"])  # as the engine seeds every run
        model = build(config)
        data = _data(config, ctx)
        record, _ = train_and_measure(model, config, data, ctx, num_classes=len(HALF1))
        x, y = data["test"]
        chosen = stratified(y, INSPECT_PER_CLASS, 0)
        xs, ys = x[chosen], y[chosen]
        examples = [int((ys == k).nonzero()[0, 0]) for k in range(len(HALF1)) if (ys == k).any()]
        layers = []
        for name, acts in stages(model, xs, ctx.device):
            if name == "input" or acts.dim() != 4:
                continue
            shown = min(SHOWN_CHANNELS, acts.shape[1])
            channels = [{"channel": c, "shares": response_shares(acts[:, c], xs[:, 0]),
                         "zeros": float((acts[:, c] == 0).float().mean()),
                         "per_class": [float(acts[ys == k, c].mean()) for k in range(len(HALF1))],
                         "null_ratio": shuffled_ratio(acts[:, c].mean((1, 2)), ys, len(HALF1))} for c in range(shown)]
            layers.append({"layer": name, "side": acts.shape[-1], "channels_in_layer": acts.shape[1],
                           "zeros": float((acts == 0).float().mean()), "channels": channels,
                           "maps": [rounded(acts[i, :shown], 3) for i in examples],
                           "class_maps": [rounded(acts[ys == k, :shown].mean(0), 3) for k in range(len(HALF1))]})
        return {"inspected": {"row": row, "seed": config["seed"], "images": len(chosen),
                              "val_loss": record["val"]["loss"], "run_val_loss": run["val"]["loss"],
                              "examples": [rounded(xs[i, 0], 3) for i in examples],
                              "class_images": [rounded(xs[ys == k, 0].mean(0), 3) for k in range(len(HALF1))],
                              "classes": [CLASSES[HALF1[int(ys[i])]] for i in examples], "layers": layers}}

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        sizes = records[0].get("sizes", {}) if records else {}
        diverged = [r["config"]["name"] for r in records if "diverged" in r]
        return ([f"Fashion-MNIST-1: {', '.join(CLASSES[k] for k in HALF1)}, relabelled 0-4. Every variant: seeds "
                 f"{', '.join(str(s) for s in sorted({r['config']['seed'] for r in records}))} (each seed its own "
                 f"stratified {sizes.get('train', 0):,} training images, the same in every row, and the same batch "
                 f"order); {sizes.get('val', 0):,} validation and {sizes.get('test', 0):,} test images; the weights of "
                 "the epoch with the lowest validation loss kept.",
                 "Made iteratively (spec 004 3.2.2): each candidate change is applied to the best network so far and "
                 "kept when its mean validation loss over the seeds is lower than the best so far's; kept = yes marks "
                 "the changes that stayed. A change that does not apply to the best so far (momentum to Adam) is "
                 "skipped.",
                 base_words(records),
                 "Cells: mean ± the 95 % t-interval's half-width over the seeds (n). Losses are plain cross-entropy in "
                 "evaluation mode, without the L2 term (which enters only the gradients), so rows with and without L2 "
                 "compare. * = the lowest mean validation loss."]
                + ([f"Diverged (loss not finite): {', '.join(diverged)}."] if diverged else []))

    def headline(self, results: dict) -> list[str]:
        """The path the iterations took, with the verdict of each kept change against the best before it."""
        records = planned(results)
        tried, changes = kept_changes(records)
        if tried is None:
            return []
        kept = [f"{c['row']} ({c['before_loss']:.4f} -> {c['loss']:.4f}; "
                + stats.verdict(c["difference"], c["against"], c["row"], unit="", higher_is_better=False)
                + groups.unfinished(c["unconverged"]) + ")" for c in changes]
        clear = [c["row"] for c in changes if c["clear"]]
        return [groups.best_line(records, "val_loss"),
                f"{tried} changes tried in turn, {len(kept)} kept for lowering the mean validation loss"
                + (kept_words(len(kept), clear, tried) + ": " + "; ".join(kept) if kept else "") + "."]

    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        """The spec's columns: the change, whether it was kept, the settings (in one cell, to fit the
        page), epochs run, and the training and test losses beside the engine's validation and test columns."""
        step = next((s for s in path(records) if s["row"] == groups.row_of(runs[0]["config"])), {})
        ran = sorted(len(r["history"]) for r in runs)
        mean = lambda key, scale=1: stats.interval([scale * r[key[0]][key[1]] for r in runs])["mean"]  # noqa: E731
        w = settings_words(runs[0]["config"])
        return {"change": runs[0]["config"]["change"], "kept": "yes" if step.get("kept") else "no",
                "settings": (f"{w['conv']} conv, dropout {w['dropout']}, {w['optimizer']}, momentum {w['momentum']}, "
                             f"L2 {w['L2']}, lr {w['lr']}, BN {w['BN']}, flip {w['flip']}"),
                "epochs run": groups.span(ran),
                "train loss / acc %": f"{mean(('train', 'loss')):.4f} / {mean(('train', 'accuracy'), 100):.2f}",
                "test loss": f"{mean(('test', 'loss')):.4f}"}

    def networks(self, config) -> list:
        return [build(config)]

STUDY = Variants()
