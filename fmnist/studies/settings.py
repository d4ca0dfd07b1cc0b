"""Study `settings` (spec 003, report item 8): the plain four-block network of the `mobilenet`
study, its accuracy when one training setting changes: the loss function (cross-entropy, or
label-smoothed cross-entropy), the batch size, the learning rate, the epochs, and the ratio
of training to test images. Every row runs the same seeds, paired against the base."""
from fmnist.core import stats
from fmnist.core.pages import Page
from fmnist.core.words import training_words
from fmnist.studies import figures, groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import epochs, per_class, seeded, splits, stop_rule, train_and_measure
from fmnist.studies.networks import init_network
from fmnist.studies.study import Column, Context, Study, planned, subset

TRAIN_PER_CLASS = 500  # as the mobilenet study: 5,000 training images
# the epochs factor's rows train a fixed number of epochs (one-cycle, no early stopping) against
# the base, which trains to convergence
BASE = {"conv_blocks": 4, "mobilenet_blocks": 0, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4,
        "optimizer": "sgd", "momentum": 0.9, "flip": True, "label_smoothing": 0.0, "train_share": 1.0}
# (factor, row name, the change); the base row is every factor's reference
ROWS = (
    ("base", "base", {}),
    ("loss function", "label smoothing 0.1", {"label_smoothing": 0.1}),
    ("loss function", "focal loss (gamma 2)", {"loss": "focal"}),
    ("loss function", "multi-class hinge", {"loss": "hinge"}),
    ("batch size", "batch 32", {"batch_size": 32}),
    ("batch size", "batch 512", {"batch_size": 512}),
    ("learning rate", "lr 0.02", {"lr": 0.02}),
    ("learning rate", "lr 0.5", {"lr": 0.5}),
    ("epochs", "2 epochs", {"epochs": 2}),
    ("epochs", "8 epochs", {"epochs": 8}),
    ("train/test ratio", "train 25%", {"train_share": 0.25}),
    ("train/test ratio", "train 50%", {"train_share": 0.5}),
)
QUICK = ("base", "focal loss (gamma 2)", "2 epochs", "train 50%")


LOSS_NAMES = {"cross-entropy": "cross-entropy", "focal": "focal (gamma 2)", "hinge": "multi-class hinge"}


COLUMNS = (Column("run", "name"), Column("seed", "seed"), Column("factor", "factor"), Column("training loss", "loss"),
           Column("batch", "batch"), Column("lr", "lr", "{:g}"), Column("epochs run", "epochs"),
           Column("training images", "images", "{:,}"), Column("train / test", "ratio", "{:.2f}"),
           Column("best epoch", "best_epoch"), Column("val loss", "val_loss", "{:.4f}"),
           Column("val acc %", "val_acc", "{:.2f}"), Column("test acc %", "test_acc", "{:.2f}"),
           Column("seconds", "seconds", "{:.0f}"))


def differences(records: list[dict]) -> list[dict]:
    """Every row against the base: test accuracy paired by seed, with the verdict."""
    by = groups.by_row(records)
    if "base" not in by:
        return []
    out = []
    for row, runs in by.items():
        if row != "base":
            d = groups.difference(by["base"], runs, "test_acc")
            out.append({"row": row, "factor": runs[0]["config"]["factor"], "difference": d,
                        "test_acc": stats.interval(list(groups.per_seed(runs, "test_acc").values())),
                        "verdict": stats.verdict(d, "the base", row, budget="this budget")
                        + groups.caveat({"the base": by["base"], row: runs})})
    return out


def answer(results: dict) -> list[str]:
    """One sentence per factor: each change's test accuracy against the base's, and the verdict."""
    records = planned(results)
    by = groups.by_row(records)
    base = stats.interval(list(groups.per_seed(by["base"], "test_acc").values()))
    c = by["base"][0]["config"]
    lines = [f"Base: the plain four-block network, {groups.budget(by['base'])}, batch {c['batch_size']}, peak lr "
             f"{c['lr']:g}, cross-entropy: test accuracy {base['mean']:.2f}% "
             f"(± {base['half_width'] or 0:.2f}, {base['n']} seeds). Each change against it, paired by seed:"]
    factors = {}
    for d in differences(records):
        factors.setdefault(d["factor"], []).append(f"{d['row']} {d['test_acc']['mean']:.2f}%: {d['verdict']}")
    lines += [f"- {factor}: " + "; ".join(parts) + "." for factor, parts in factors.items()]
    return lines + ([ratio] if (ratio := ratio_words(records)) else [])


def factor_figures(results: dict) -> list:
    records = planned(results)
    by = groups.by_row(records)
    bars = [(runs[0]["config"]["factor"], row, stats.interval(list(groups.per_seed(runs, "test_acc").values())))
            for row, runs in by.items()]
    paired = {d["row"]: d["difference"] for d in differences(records)}
    return [figures.factor_figure("Test accuracy when one setting changes: each row's mean and 95 % interval over "
                                 "seeds, the dashed line the base's (left), and its difference from the base paired "
                                 "by seed, which the verdicts read (right)", bars, paired)]


def ratio_words(records: list[dict]) -> str:
    """The train/test ratio defined: training images against test images, for each row that sets it."""
    sizes = {}
    for r in records:
        if "sizes" in r and (r["config"]["factor"] in ("base", "train/test ratio")):
            sizes.setdefault(groups.row_of(r["config"]), (r["sizes"]["train"], r["sizes"]["test"]))
    if not sizes:
        return ""
    return (
        "The train/test ratio is the number of training images to the number of test images (the test set "
        "fixed): "
        + ", ".join(f"{row} {train:,}:{test:,} = {train / test:.3g}" for row, (train, test) in sizes.items())
        + "."
    )


class Settings(Study):
    name, spec, measure = "settings", "Spec 003 (item 8)", "val_acc"
    title = "One training setting at a time: loss, batch, lr, epochs, train/test ratio"
    columns = COLUMNS

    def plan(self, ctx: Context) -> list[RunConfig]:
        rows = []
        for factor, name, change in ROWS:
            if ctx.options.quick and name not in QUICK:
                continue
            rows.append(RunConfig(**{"study": "settings", "name": name, "factor": factor, **BASE,
                                      **({"epochs": epochs(ctx, change["epochs"])} if "epochs" in change
                                         else stop_rule(ctx)), **{k: v for k, v in change.items() if k != "epochs"},
                                      "train_per_class": per_class(ctx, TRAIN_PER_CLASS), "quick": ctx.options.quick}))
        return seeded(rows, ctx)

    def run(self, config: dict, ctx: Context) -> dict:
        data = splits(ctx, config["train_per_class"], config["seed"])
        if config["train_share"] < 1:  # a stratified share of the seed's training images (nested in them)
            data["train"] = subset(data["train"], max(1, round(config["train_share"] * len(data["train"][1]) / 10)),
                                   config["seed"])
        network = init_network(config["conv_blocks"], config["mobilenet_blocks"])
        record, _ = train_and_measure(network, config, data, ctx)
        return record

    def rows(self, records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            c = r["config"]
            loss = LOSS_NAMES[c.get("loss", "cross-entropy")]
            row = {"name": c["name"], "seed": c["seed"], "factor": c["factor"], "loss": loss if not c["label_smoothing"]
                   else f"{loss}, smoothing {c['label_smoothing']:g}", "batch": c["batch_size"],
                   "lr": c["lr"], "epochs": groups.epochs_run(r), "seconds": r["seconds"]}
            if "test" in r:
                row.update(images=r["sizes"]["train"], ratio=r["sizes"]["train"] / r["sizes"]["test"],
                           best_epoch=r["best_epoch"], val_loss=r["val"]["loss"], val_acc=100 * r["val"]["accuracy"],
                           test_acc=100 * r["test"]["accuracy"])
            out.append(row)
        return out

    def pages(self, results: dict) -> list[Page]:
        return [Page("settings_factors", "Spec 003, settings", "test accuracy when one setting changes",
                     factor_figures(results)[0])]

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        seeds = sorted({r["config"]["seed"] for r in records})
        pool = records[0]["config"].get("train_per_class") if records else TRAIN_PER_CLASS
        return [
            f"The plain network of the mobilenet study (4 standard blocks, global average pooling, one linear layer); "
            f"seeds {', '.join(map(str, seeds))}, each seed its own stratified training subset (a share of "
            f"{f'{pool:,} images per class' if pool else 'every training image'}), the same in every row; the full "
            "validation and test splits; "
            + (
                training_words(records[0]["config"], varied=("lr", "batch_size", "label_smoothing", "epochs"))
                if records
                else "-"
            )
            + ". Losses in the table are "
            "plain cross-entropy whatever the row trained with (focal: cross-entropy with each image weighted by "
            "(1 - p_true)^2; multi-class hinge: each wrong class's logit within 1 of the true one's costs the "
            "shortfall). " + ratio_words(records) + " Cells: mean ± the 95 % half-width over seeds (n)."
        ]

    def headline(self, results: dict) -> list[str]:
        return answer(results)[1:]

    def networks(self, config) -> list:
        return [init_network(config["conv_blocks"], config["mobilenet_blocks"])]

    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        return {"factor": runs[0]["config"]["factor"]}


STUDY = Settings()
