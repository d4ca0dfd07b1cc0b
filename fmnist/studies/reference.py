"""Study `reference` (spec 000): the spec's reference network (conv 64-128-256-256, FC
1024-1024, batch norm on the logits before the softmax) trained with early stopping on
validation (patience 5), Xavier against He initialisation at two learning rates, and with
against without its batch norm before the softmax. The best row by validation loss gives
spec 000's best model: its configuration, learning curve, test accuracy and CONV1 filters.

The network costs 14 times the variants' base per image, so the default budget trains to
convergence on 1,500 training and 1,000 validation images; --budget spec runs the spec's protocol (every
training and validation image) for a GPU.
"""
import numpy as np
import torch

from fmnist.core import plotting
from fmnist.core.guided import CONTROL_SEED, guided_channels, guided_words, saved, stage_shape
from fmnist.core.layers import layer_table
from fmnist.core.pages import Page, series
from fmnist.core.training import init_weights
from fmnist.core.words import training_words
from fmnist.studies import figures, groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import per_class, rounded, seeded, splits, stop_rule, train_and_measure
from fmnist.studies.networks import ReferenceNet, ReferenceNetNoBN
from fmnist.studies.study import Column, Context, Study, planned

TRAIN_PER_CLASS, VAL_PER_CLASS = 150, 100
COMMON = {"batch_size": 128, "weight_decay": 5e-4, "optimizer": "sgd", "momentum": 0.9, "flip": True,
          "iterations": True}
ROWS = (("Xavier, lr 0.01", "xavier", 0.01, True), ("Xavier, lr 0.05", "xavier", 0.05, True),
        ("He, lr 0.01", "he", 0.01, True), ("He, lr 0.05", "he", 0.05, True),
        ("He, lr 0.05, no batch norm", "he", 0.05, False))
QUICK = ("He, lr 0.05", "He, lr 0.05, no batch norm")  # --quick: the batch-norm pair


def build(config: dict):
    return ReferenceNet() if config["batch_norm"] else ReferenceNetNoBN()


def best_run(records: list[dict]) -> dict | None:
    """Spec 000's "best model": the run of the lowest validation loss over every run of the study
    (whichever row it is in)."""
    runs = [r for runs in groups.by_row(records).values() for r in runs]
    return min(runs, key=lambda r: r["val"]["loss"]) if runs else None


GUIDED_CHANNELS, GUIDED_SHOWN = 10, 5  # spec 000 1.3.9: "any 10 neurons"; the images shown of each
GUIDED_STAGE = "relu4"  # the last conv layer's activated output (spec 000 names CONV5; this network has four)


COLUMNS = (Column("run", "name"), Column("seed", "seed"), Column("init", "init"), Column("lr", "lr", "{:g}"),
           Column("BN on logits", "bn"), Column("epoch cap", "epochs"), Column("epochs run", "ran"),
           Column("best epoch", "best_epoch"), Column("train acc %", "train_acc", "{:.2f}"),
           Column("val loss", "val_loss", "{:.4f}"), Column("val acc %", "val_acc", "{:.2f}"),
           Column("test loss", "test_loss", "{:.4f}"), Column("test acc %", "test_acc", "{:.2f}"),
           Column("seconds", "seconds", "{:.0f}"))


def guided_sentence(g: dict) -> str:
    """1.3.9's sentence, from the finish's numbers."""
    return guided_words(g, f"features.{g['stage']}", f"{g['chosen_on']:,} validation images",
                        f"{g['described_on']:,} test images")


def guided_pages(g: dict | None) -> list[Page]:
    """Spec 000 1.3.9: guided backpropagation on the best model's last conv layer, 5 channels a page."""
    if not g:
        return []
    shape = " x ".join(map(str, g["shape"]))
    title = (f"The best model ({g['row']}, seed {g['seed']}), features.{g['stage']} ({shape}, the last conv layer). "
             "Each row: the 5 test images that excite the channel most (act: its largest value), each beside "
             "d channel / d pixel through positive ReLU outputs and positive gradients. At left: the class's share "
             "of the channel's top 20 test images (of its top 20 validation images, where it was chosen), and the "
             "quarter of the image or the region of the garment its maps favour.")
    return series("reference_guided", "Spec 000, guided backpropagation", guided_sentence(g),
                  plotting.guided_figures(guided_rows(g), title, per_page=5))


def guided_rows(g: dict) -> list[dict]:
    """The finish's channels as plotting.guided_figures takes them (arrays, not lists)."""
    return [{**r, "images": np.asarray(r["images"]), "maps": np.asarray(r["maps"])} for r in g["rows"]]


class Reference(Study):
    name, spec, measure = "reference", "Spec 000", "val_loss"
    title = "Spec 000's reference network: initialisation, learning rate, batch norm before the softmax"
    columns = COLUMNS

    def plan(self, ctx: Context) -> list[RunConfig]:
        rows = [RunConfig(**{"study": "reference", "name": name, "init": init, "lr": lr, "batch_norm": bn, **COMMON,
                              **stop_rule(ctx), "train_per_class": per_class(ctx, TRAIN_PER_CLASS),
                              "val_per_class": per_class(ctx, VAL_PER_CLASS), "quick": ctx.options.quick})
                for name, init, lr, bn in ROWS if not ctx.options.quick or name in QUICK]
        return seeded(rows, ctx)

    def run(self, config: dict, ctx: Context) -> dict:
        model = build(config)
        data = splits(ctx, config["train_per_class"], config["seed"], config["val_per_class"])
        record, _ = train_and_measure(model, config, data, ctx)
        record["extras"] = {"first_filters": model.features.conv1.weight.detach().cpu()[:, 0].tolist()}
        if config["seed"] == 0:
            record["extras"]["layer_table"] = layer_table(model)
        return record

    def rows(self, records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            c = r["config"]
            row = {"name": c["name"], "seed": c["seed"], "init": c["init"], "lr": c["lr"],
                   "bn": "yes" if c["batch_norm"] else "no", "epochs": c["epochs"], "seconds": r["seconds"]}
            if "test" in r:
                row.update(ran=len(r["history"]), best_epoch=r["best_epoch"], val_loss=r["val"]["loss"],
                           val_acc=100 * r["val"]["accuracy"], test_loss=r["test"]["loss"],
                           test_acc=100 * r["test"]["accuracy"], train_acc=100 * r["train"]["accuracy"])
            out.append(row)
        return out

    def pages(self, results: dict) -> list[Page]:
        records = planned(results)
        b = best_run(records)
        if not b:
            return []
        name = groups.row_of(b["config"])
        return [
            Page(
                "reference_curve",
                "Spec 000, learning curve",
                f"the best model ({name}, seed {b['config']['seed']})",
                figures.iteration_curve_figure(
                    f"Spec 000's reference network, {name}, seed {b['config']['seed']}: "
                    "negative log likelihood over iterations",
                    b["iterations"],
                    b["history"],
                ),
            ),
            Page(
                "reference_best_filters",
                "Spec 000, CONV1 filters",
                f"the best model ({name})",
                plotting.kernel_grid_figure(
                    np.asarray(b["extras"]["first_filters"]),
                    f"{name}, seed {b['config']['seed']}: the 64 3x3 filters of CONV1, each scaled to its own range",
                ),
            ),
        ] + guided_pages(results.get("finish", {}).get("guided"))

    def finish(self, results: dict, ctx: Context) -> dict:
        """Spec 000 1.3.9 on the best model: its run is trained again (the same seed, data and batch
        order), then guided backpropagation on GUIDED_CHANNELS channels of its last conv layer, each
        chosen on the validation images (the channel whose top images hold most of one class) and
        described on the test images, so the purity reported is not the one it was chosen for."""
        b = best_run(planned(results))
        if not b:
            return {}
        config = b["config"]
        torch.manual_seed(config["seed"])  # as the engine seeds every run
        model = build(config)
        data = splits(ctx, config["train_per_class"], config["seed"], config["val_per_class"])
        record, _ = train_and_measure(model, config, data, ctx)
        torch.manual_seed(config["seed"] + CONTROL_SEED)
        redrawn = build(config)
        init_weights(redrawn, config.get("init", "default"))  # the same network, every weight drawn afresh
        found = guided_channels(model.to(ctx.device), GUIDED_STAGE, data["val"], data["test"], ctx.device,
                                GUIDED_CHANNELS, GUIDED_SHOWN, redrawn.to(ctx.device).eval())
        rows = [{**saved(r), "images": rounded(r["images"], 2),
                 "maps": rounded(r["maps"] / max(float(abs(r["maps"]).max()), 1e-12), 3)}
                for r in found["rows"]]  # each channel's maps scaled by their largest |value|
        return {"guided": {"row": groups.row_of(config), "seed": config["seed"], "stage": GUIDED_STAGE,
                           "shape": stage_shape(model, GUIDED_STAGE, ctx.device),
                           "val_loss": record["val"]["loss"], "run_val_loss": b["val"]["loss"], "rows": rows,
                           **{k: found[k] for k in ("channels_in_stage", "chosen_on", "described_on",
                                                    "median_best_share", "random_share")}}}

    def notes(self, results: dict) -> list[str]:
        records = planned(results)
        r = records[0] if records else {}
        sizes = r.get("sizes", {})
        return [f"Every run: seeds {', '.join(str(s) for s in sorted({x['config']['seed'] for x in records}))}; "
                f"{sizes.get('train', 0):,} training images (stratified, drawn per seed, the same in every row), "
                f"{sizes.get('val', 0):,} validation and {sizes.get('test', 0):,} test images; "
                f"{training_words(r['config'], varied=('lr', 'init')) if r else '-'}; the peak learning rate and the "
                "initialisation as each row shows; the weights of the lowest validation loss kept.",
                f"Traded for time: the reference network costs {r.get('multiply_adds', 0) / 1e6:.1f} M multiply-adds "
                f"per image, so the default budget trains on {sizes.get('train', 0):,} images; python experiments.py "
                "reference --budget spec runs the spec's protocol (every image, early stopping) for a GPU. Cells: mean "
                "± the 95 % half-width over seeds (n); * = the lowest mean validation loss."]

    def headline(self, results: dict) -> list[str]:
        records = planned(results)
        b = best_run(records)
        out = [groups.best_line(records, "val_loss")]
        if b:
            out.append(f"best model (the best row's run of lowest validation loss): {groups.row_of(b['config'])} seed "
                       f"{b['config']['seed']}, test accuracy {100 * b['test']['accuracy']:.2f}%")
        return out

    def networks(self, config) -> list:
        return [build(config)]

    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        """No columns of its own: each row's name says its initialisation, learning rate and batch norm
        (three more columns split the table in two on a report's page)."""
        return {}


STUDY = Reference()
