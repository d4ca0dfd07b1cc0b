"""Study `tuning` (spec 004 section 3.5.2): the Fashion-MNIST-2 network of the transfer study
(HalfCNN, 5 classes) tuned on Fashion-MNIST-2's validation set: a small grid of optimizer,
learning rate and dropout, every cell with the same seeds, chosen on validation loss."""
from fmnist.core import stats, words
from fmnist.core.words import OPTIMIZER_NAMES, number_words, training_words
from fmnist.studies import groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import per_class, seeded, stop_rule, train_and_measure
from fmnist.studies.networks import HalfCNN
from fmnist.studies.study import Column, Context, Study, planned, subset
from fmnist.studies.sweep import HALF2, TRAINING, halves

TRAIN_PER_CLASS = 1000  # 5,000 of Fashion-MNIST-2's training images: 12 cells x 3 seeds in budget
USUAL_LR = {"sgd": 0.05, "adam": 1e-3}  # each optimizer's usual peak learning rate; the grid scales it
LR_FACTORS, DROPOUTS = (0.5, 1.0, 2.0), (0.25, 0.5)
QUICK = (("sgd", 1.0, 0.25), ("adam", 1.0, 0.25))


COLUMNS = (Column("run", "name"), Column("seed", "seed"), Column("optimizer", "optimizer"), Column("lr", "lr", "{:g}"),
           Column("dropout", "dropout", "{:g}"), Column("epochs run", "epochs"), Column("best epoch", "best_epoch"),
           Column("val loss", "val_loss", "{:.4f}"), Column("val acc %", "val_acc", "{:.2f}"),
           Column("test acc %", "test_acc", "{:.2f}"), Column("seconds", "seconds", "{:.0f}"))
DEFAULT = f"SGD lr {TRAINING['lr']:g} dropout 0.25"  # the sweeps' own setting (sweep.TRAINING, HalfCNN's dropout)


def winner(results: dict) -> dict | None:
    """The settings of the row of lowest mean validation loss (spec 004 3.5.2's choice), which the
    transfer study's source network trains with; None before the study has finished."""
    if not results.get("finished"):
        return None
    ranked = groups.ranked(planned(results), "val_loss")
    if not ranked:
        return None
    c = ranked[0][1][0]["config"]
    return {"row": ranked[0][0], **{k: c[k] for k in ("optimizer", "lr", "momentum", "dropout")}}


class Tuning(Study):
    name, spec, measure = "tuning", "Spec 004 3.5.2", "val_loss"
    title = "Tuning the Fashion-MNIST-2 network: optimizer, learning rate, dropout"
    columns, classes = COLUMNS, HALF2

    def plan(self, ctx: Context) -> list[RunConfig]:
        cells = [(opt, f, d) for opt in USUAL_LR for f in LR_FACTORS for d in DROPOUTS]
        rows = [
            RunConfig(
                **{
                    **TRAINING,
                    "study": "tuning",
                    "name": f"{'SGD' if opt == 'sgd' else 'Adam'} lr {USUAL_LR[opt] * f:g} dropout {d:g}",
                    "optimizer": opt,
                    "momentum": 0.9 if opt == "sgd" else 0.0,
                    "lr": USUAL_LR[opt] * f,
                    "dropout": d,
                    **stop_rule(ctx),
                    "train_per_class": per_class(ctx, TRAIN_PER_CLASS),
                    "quick": ctx.options.quick,
                }
            )
            for opt, f, d in cells
            if not ctx.options.quick or (opt, f, d) in QUICK
        ]
        return seeded(rows, ctx)

    def run(self, config: dict, ctx: Context) -> dict:
        data = halves(ctx, HALF2)
        if not ctx.options.quick:
            data["train"] = subset(data["train"], config["train_per_class"], config["seed"])
        record, _ = train_and_measure(HalfCNN(len(HALF2), dropout=config["dropout"]), config, data, ctx,
                                      num_classes=len(HALF2))
        return record

    def rows(self, records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            c = r["config"]
            row = {
                "name": c["name"],
                "seed": c["seed"],
                "optimizer": c["optimizer"],
                "lr": c["lr"],
                "dropout": c["dropout"],
                "epochs": groups.epochs_run(r),
                "seconds": r["seconds"],
            }
            if "test" in r:
                row.update(best_epoch=r["best_epoch"], val_loss=r["val"]["loss"], val_acc=100 * r["val"]["accuracy"],
                           test_acc=100 * r["test"]["accuracy"])
            out.append(row)
        return out

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        r = records[0] if records else {}
        return [f"HalfCNN on Fashion-MNIST-2 (5 classes): {r.get('sizes', {}).get('train', 0):,} training images "
                f"(stratified, drawn per seed), {r.get('sizes', {}).get('val', 0):,} validation and "
                f"{r.get('sizes', {}).get('test', 0):,} test images; "
                f"{training_words(r['config'], varied=('optimizer', 'lr')) if r else '-'}; each optimizer's learning "
                f"rate at {words.listing([f'{f:g}' for f in LR_FACTORS])} times its usual value ("
                + ", ".join(f"{OPTIMIZER_NAMES[o]} {number_words(lr)}" for o, lr in USUAL_LR.items())
                + "). Chosen on the mean validation loss (*). Cells: mean ± the 95 % half-width over seeds (n)."]

    def headline(self, results: dict) -> list[str]:
        records = planned(results)
        by = groups.by_row(records)
        out = [words.sentence(groups.best_line(records, "val_loss")) + "."]
        ranked = groups.ranked(records, "val_loss")
        if ranked:
            out.append(f"The transfer study's source network trains with the winner, {ranked[0][0]}.")
        if ranked and DEFAULT in by and ranked[0][0] != DEFAULT:
            d = groups.difference(by[DEFAULT], ranked[0][1], "val_loss")
            out.append(f"Against the default setting ({DEFAULT}, which the Fashion-MNIST-1 sweep runs keep): "
                       + stats.verdict(d, DEFAULT, ranked[0][0], unit="", higher_is_better=False, budget="this budget")
                       + groups.caveat({DEFAULT: by[DEFAULT], ranked[0][0]: ranked[0][1]}) + ".")
        return out

    def networks(self, config) -> list:
        return [HalfCNN(len(HALF2), dropout=config["dropout"])]
    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        c = runs[0]["config"]
        return {"optimizer": c["optimizer"], "lr": f"{c['lr']:g}", "dropout": f"{c['dropout']:g}"}


STUDY = Tuning()
