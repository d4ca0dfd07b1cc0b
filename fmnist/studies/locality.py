"""Study `locality` (question 8 of spec 001): do the networks use the fact that neighbouring
pixels belong together? Both assignment networks train to convergence, by the same stop rule, on the
images and on the images with their pixels scrambled by one fixed permutation.

A fully connected layer has no notion of which pixels are neighbours, so a fixed
permutation of the inputs only reorders its first layer's columns: the FFN can learn the
scrambled task as well as the real one. A convolution's kernels see 3x3 neighbourhoods, and
scrambling destroys them. Seeds pair the runs: the same seed gives the same initial weights
and batch order on both inputs, so the verdict is the interval of the per-seed differences.
"""

import torch

from fmnist.core import stats
from fmnist.core.assignment import RECIPES
from fmnist.core.pages import Page
from fmnist.core.words import number_words, training_words
from fmnist.studies import figures, groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import per_class, seeds, splits, stop_rule, train_and_measure
from fmnist.studies.study import Column, Context, Study, planned

NETWORKS = {"ffn": "FFN", "cnn": "CNN"}  # the builders come from the caller: study(builders)
PIXELS = ("images", "scrambled")
PERMUTATION_SEED = 0
# Each network's own recipe from the hand-in (assignment.RECIPES: batch, peak learning rate,
# optimizer, momentum, weight decay), but no mirroring and no flip averaging, since mirroring
# means nothing for scrambled pixels.
RECIPE_FIELDS = ("lr", "batch_size", "weight_decay", "optimizer", "momentum")
TRAINING = {net: {key: getattr(RECIPES[net], key) for key in RECIPE_FIELDS}
            | {"flip": False} for net in NETWORKS}
# 20,000 of the 55,000 training images (2,000 per class, drawn per seed; both inputs of a seed
# see the same images): 4 rows x 3 seeds, each to convergence, within the study budget
TRAIN_PER_CLASS = 2000


def permutation(seed: int = PERMUTATION_SEED) -> torch.Tensor:
    return torch.randperm(28 * 28, generator=torch.Generator().manual_seed(seed))


def scramble(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Images (N, 1, 28, 28) with their pixels reordered by `perm`, the same for every image."""
    return x.flatten(1)[:, perm].reshape(x.shape)


def run(builders: dict, config: dict, ctx: Context) -> dict:
    data = splits(ctx, config.get("train_per_class"), config["seed"])
    if config["pixels"] == "scrambled":
        perm = permutation(config["permutation_seed"])
        data = {k: (scramble(x, perm), y) for k, (x, y) in data.items()}
    record, _ = train_and_measure(builders[config["network"]](), config, data, ctx)
    return record


def comparisons(records: list[dict]) -> dict:
    """Per network: test accuracy (%) per seed on each input, and scrambled minus images."""
    out = {}
    for net, label in NETWORKS.items():
        acc = {p: {r["config"]["seed"]: 100 * r["test"]["accuracy"] for r in records
                   if r["config"]["network"] == net and r["config"]["pixels"] == p and "test" in r} for p in PIXELS}
        if acc["images"] and acc["scrambled"] and set(acc["images"]) & set(acc["scrambled"]):
            diff = stats.paired(acc["images"], acc["scrambled"])
            out[net] = {
                "label": label,
                "images": stats.interval(list(acc["images"].values())),
                "scrambled": stats.interval(list(acc["scrambled"].values())),
                "difference": diff,
                "per_seed": {p: [acc[p][s] for s in sorted(acc[p])] for p in PIXELS},
                "verdict": stats.verdict(
                    diff, f"the {label} on the images", f"the {label} on scrambled pixels", budget="this budget"
                )
                + groups.caveat(
                    {
                        f"the {label} on the images": [
                            r for r in records if r["config"]["network"] == net and r["config"]["pixels"] == "images"
                        ],
                        f"the {label} on scrambled pixels": [
                            r for r in records if r["config"]["network"] == net and r["config"]["pixels"] == "scrambled"
                        ],
                    }
                ),
            }
    return out


COLUMNS = (
    Column("run", "name"),
    Column("network", "network"),
    Column("pixels", "pixels"),
    Column("seed", "seed"),
    Column("epochs run", "epochs"),
    Column("best epoch", "best_epoch"),
    Column("train acc %", "train_acc", "{:.2f}"),
    Column("val acc %", "val_acc", "{:.2f}"),
    Column("test acc %", "test_acc", "{:.2f}"),
    Column("test loss", "test_loss", "{:.4f}"),
    Column("seconds", "seconds", "{:.0f}"),
)


class Locality(Study):
    """The study, training the networks that `builders` ("ffn", "cnn" -> a function returning a
    fresh network) make: the assignment's FF_Net and Conv_Net, passed in by experiments.py."""
    name, spec, measure = "locality", "Spec 001 Q8", "val_loss"
    title = "Locality: both networks on images and on scrambled pixels"
    columns = COLUMNS

    def plan(self, ctx: Context) -> list[RunConfig]:
        return [RunConfig(**{"study": "locality", "name": f"{NETWORKS[net]} {pixels} seed {s}",
                              "row": f"{NETWORKS[net]} {pixels}", "network": net, "pixels": pixels,
                              **TRAINING[net], **stop_rule(ctx), "seed": s, "permutation_seed": PERMUTATION_SEED,
                              "train_per_class": per_class(ctx, TRAIN_PER_CLASS), "quick": ctx.options.quick})
                for net in NETWORKS for pixels in PIXELS for s in seeds(ctx)]

    def rows(self, records: list[dict]) -> list[dict]:
        out = []
        for r in records:
            c = r["config"]
            row = {"name": c["name"], "network": NETWORKS[c["network"]], "pixels": c["pixels"], "seed": c["seed"],
                   "epochs": groups.epochs_run(r), "seconds": r["seconds"]}
            if "test" in r:
                row.update(best_epoch=r["best_epoch"], train_acc=100 * r["train"]["accuracy"],
                           val_acc=100 * r["val"]["accuracy"], test_acc=100 * r["test"]["accuracy"],
                           test_loss=r["test"]["loss"])
            out.append(row)
        return out

    def pages(self, results: dict) -> list[Page]:
        f = results.get("finish", {})
        if not f.get("comparisons"):
            return []
        return [Page("locality", "Q8 (spec 001), locality", "test accuracy on images and on scrambled pixels",
                     figures.locality_figure(f["comparisons"], f["example"], self.headline(results)))]

    def finish(self, results: dict, ctx: Context) -> dict:
        records = planned(results)
        x = splits(ctx, None)["test"][0][:1]
        return {"comparisons": comparisons(records), "epochs": records[0]["config"]["epochs"] if records else None,
                "quick": ctx.options.quick, "sizes": records[0].get("sizes") if records else None,
                "example": {"images": x[0, 0].tolist(), "scrambled": scramble(x, permutation())[0, 0].tolist()}}

    def notes(self, results: dict) -> list[str]:
        f = results.get("finish", {})
        sizes = f.get("sizes") or {}
        first = {r["config"]["network"]: r["config"] for r in reversed(planned(results))}
        configs = {k: first[k] for k in NETWORKS if k in first}
        peaks = ", ".join(f"{NETWORKS[k]} {number_words(c['lr'])}" for k, c in configs.items())
        trained = training_words(next(iter(configs.values())), varied=("lr",)) if configs else "-"
        kind = "rates" if configs and next(iter(configs.values())).get("schedule") == "plateau" else "peaks"
        return [
            f"Every run: {sizes.get('train', 0):,} training, {sizes.get('val', 0):,} validation and "
            f"{sizes.get('test', 0):,} test images; {trained} ({kind}: {peaks}); no flip averaging, no label "
            "smoothing, the weights of the epoch with the lowest validation loss kept. Scrambled: every image's 784 "
            "pixels reordered by one fixed "
            f"random permutation (seed {PERMUTATION_SEED}), the same in training and test.",
            "Both inputs get the same budget and stop rule, and no mirroring (the hand-in's CNN trains mirrored and "
            "scores flip-averaged), so accuracies differ from figures.pdf's. Runs with the same seed start from the "
            "same "
            "weights "
            "and see the batches in the same order; the verdicts use the 95 % t-interval of the per-seed differences.",
        ]

    def headline(self, results: dict) -> list[str]:
        return [
            c["verdict"][0].upper() + c["verdict"][1:] + "."
            for c in results.get("finish", {}).get("comparisons", {}).values()
        ]

    def __init__(self, builders: dict):
        self.builders = builders

    def run(self, config, ctx: Context) -> dict:
        return run(self.builders, config, ctx)

    def networks(self, config) -> list:
        return [self.builders[config["network"]]()]
