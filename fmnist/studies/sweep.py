"""The fraction sweep of the pretrain and transfer studies (spec 004 sections 3.4, 3.5): the
two halves of Fashion-MNIST, nested class-stratified fractions of the labelled half, the runs
of every fraction, seed and start, and what is read off them: table rows, the verdicts of
the summary, the sweep figure.

Fashion-MNIST-1 = classes 0, 1, 4, 5, 8 and Fashion-MNIST-2 = classes 2, 3, 6, 7, 9, each
relabelled 0-4, filtered from the package's own training, validation and test splits.
"""
import torch

from fmnist.core import stats
from fmnist.core.data import CLASSES
from fmnist.core.pages import Page, series
from fmnist.studies import figures, groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import QUICK_PER_CLASS, per_class, seeds, stop_rule, train_and_measure
from fmnist.studies.networks import HalfCNN
from fmnist.studies.study import Column, Context, Study, planned, subset
from fmnist.studies.tables import table_figures

HALF1, HALF2 = (0, 1, 4, 5, 8), (2, 3, 6, 7, 9)
FRACTIONS = tuple(k / 20 for k in range(1, 21))   # spec 004: 5, 10, 15, ..., 100%
# The default budget takes the fractions of a pool of 1,000 labelled images per class (5,000,
# drawn per seed), --budget spec of every labelled image. An epoch is at least 32 optimizer steps
# (STUDY_RECIPE.min_steps), so a fraction under 4,096 images costs what 4,096 would: the pool
# grew from 500 a class at little cost in time.
POOL_PER_CLASS = 1000
# The upstream run (the autoencoder, the source network) is one run that every other starts from:
# its ceiling is higher, so that it converges (the autoencoder's error still falls 0.1-0.3 % an
# epoch at 60).
UPSTREAM_CEILING = 200
QUICK_FRACTIONS = (0.1, 1.0)
TRAINING = {"batch_size": 128, "lr": 0.05, "weight_decay": 5e-4, "optimizer": "sgd", "momentum": 0.9, "flip": True}


def half(split: tuple, classes: tuple) -> tuple:
    """The images of `classes`, relabelled 0..len(classes)-1 in the order given."""
    x, y = split
    lookup = torch.full((10,), -1, dtype=torch.long)
    lookup[list(classes)] = torch.arange(len(classes))
    keep = lookup[y] >= 0
    return x[keep], lookup[y[keep]]


def halves(ctx: Context, classes: tuple) -> dict:
    chosen = ({k: subset(ctx.splits[k], n) for k, n in QUICK_PER_CLASS.items()} if ctx.options.quick
              else ctx.splits)
    return {k: half(chosen[k], classes) for k in ("train", "val", "test")}


def nested(y: torch.Tensor, fraction: float, seed: int = 0) -> torch.Tensor:
    """Indices of a class-stratified `fraction` of y: each class in one fixed random order,
    cut at round(fraction x its size), so every subset contains the smaller ones."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for k in range(int(y.max()) + 1):
        idx = (y == k).nonzero().flatten()
        picks.append(idx[torch.randperm(len(idx), generator=gen)][:max(1, round(fraction * len(idx)))])
    return torch.cat(picks).sort().values


def fractions(ctx: Context) -> tuple:
    o = ctx.options
    return o.fractions or (QUICK_FRACTIONS if o.quick else FRACTIONS)


def sweep_plan(ctx: Context, study: str, starts: tuple, upstream: dict) -> list[RunConfig]:
    configs = [RunConfig(**{"study": study, "name": upstream["name"], "kind": "upstream", **TRAINING, **upstream,
                             **stop_rule(ctx, UPSTREAM_CEILING), "seed": ctx.options.seed, "quick": ctx.options.quick})]
    for f in fractions(ctx):
        for s in seeds(ctx):
            for start in starts:
                configs.append(RunConfig(**{"study": study, "name": f"{start} {100 * f:g}% seed {s}",
                                             "row": f"{start} {100 * f:g}%", "kind": "sweep", "start": start,
                                             "fraction": f, **TRAINING, **stop_rule(ctx), "seed": s,
                                             "train_per_class": per_class(ctx, POOL_PER_CLASS),
                                             "quick": ctx.options.quick, "upstream": upstream["name"]}))
    return configs


def sweep_run(model: HalfCNN, config: dict, ctx: Context) -> dict:
    """Train `model` on the fraction of Fashion-MNIST-1 (drawn with the run's seed, the same for
    both starts) and measure it."""
    data = halves(ctx, HALF1)
    if config.get("train_per_class") and not ctx.options.quick:  # the pool the fractions are taken from
        data["train"] = subset(data["train"], config["train_per_class"], config["seed"])
    chosen = nested(data["train"][1], config["fraction"], config["seed"])
    data["train"] = (data["train"][0][chosen], data["train"][1][chosen])
    record, _ = train_and_measure(model, config, data, ctx, num_classes=len(HALF1))
    record["lowest_train_loss"] = min(e["train_loss"] for e in record["history"])
    record["lowest_val_loss"] = min(e["val_loss"] for e in record["history"])
    return record


# --- what is read off the runs ------------------------------------------------------------------

METRICS = (("test_acc", "test accuracy (%)", True), ("lowest_val_loss", "lowest validation loss", False),
           ("lowest_train_loss", "lowest training loss", False))


def run_rows(records: list[dict]) -> list[dict]:
    """The every-run table's rows: one per sweep run (the upstream run has its own notes)."""
    out = []
    for r in records:
        c = r["config"]
        if c["kind"] != "sweep":
            continue
        row = {"name": c["name"], "start": c["start"], "fraction": 100 * c["fraction"], "seed": c["seed"],
               "epochs": groups.epochs_run(r), "seconds": r["seconds"]}
        if "diverged" not in r:
            row.update(images=r["sizes"]["train"], lowest_train_loss=r["lowest_train_loss"],
                       lowest_val_loss=r["lowest_val_loss"], best_epoch=r["best_epoch"],
                       train_acc=100 * r["train"]["accuracy"], val_acc=100 * r["val"]["accuracy"],
                       test_acc=100 * r["test"]["accuracy"])
        out.append(row)
    return out


def by_fraction(records: list[dict], starts: tuple) -> dict:
    """{metric: {start: {fraction: [value per seed]}}} from the finished sweep runs."""
    table = {m: {s: {} for s in starts} for m, _, _ in METRICS}
    for row in run_rows(records):
        for metric, _, _ in METRICS:
            if row.get(metric) is not None:
                table[metric][row["start"]].setdefault(row["fraction"], []).append(row[metric])
    return table


def differences(records: list[dict], starts: tuple, measure: str) -> dict:
    """{"5%": interval, ...}: at each fraction the second start's gain over the first, paired
    by seed (same subset, batch order and new layers); > 0 means the second is ahead (for a
    loss the difference is turned round, so that lower is ahead)."""
    first, second = starts
    rows = groups.by_row([r for r in records if swept(r["config"])])
    higher = groups.MEASURES[measure][2]
    out = {}
    for f in sorted({r[0]["config"]["fraction"] for r in rows.values()}):
        a, b = rows.get(f"{first} {100 * f:g}%"), rows.get(f"{second} {100 * f:g}%")
        if a and b:
            d = groups.difference(a, b, measure)
            out[f"{100 * f:g}%"] = d if higher else stats.flipped(d)
    return out


def seed_level(records: list[dict], starts: tuple, measure: str) -> dict | None:
    """The second start's gain over the first averaged over the fractions, seed by seed, and the
    t-interval of those per-seed means (the seed is the unit: fractions share seeds and nest their
    images, so they are not independent tests). > 0: the second is ahead, for a loss too. Only
    seeds run at every fraction count; None without two of them."""
    diffs = differences(records, starts, measure)
    first, second = starts
    rows = groups.by_row([r for r in records if swept(r["config"])])
    sign = 1 if groups.MEASURES[measure][2] else -1
    per_seed = {}
    for fraction in diffs:
        a, b = (groups.per_seed(rows[f"{s} {fraction}"], measure) for s in starts)
        for seed in set(a) & set(b):
            per_seed.setdefault(seed, []).append(sign * (b[seed] - a[seed]))
    means = [sum(v) / len(v) for v in per_seed.values() if len(v) == len(diffs)]
    return stats.interval(means) if len(means) >= 2 else None


def verdicts(records: list[dict], starts: tuple) -> list[str]:
    """For test accuracy and the lowest validation loss, the claim across the sweep (stats.across);
    each fraction's paired difference is in verdict_table."""
    first, second = starts
    lines = []
    for measure, unit in (("test_acc", " points"), ("val_loss", "")):
        label, _, higher = groups.MEASURES[measure]
        diffs = differences(records, starts, measure)
        if diffs:
            lines.append(f"{label}: " + stats.across(diffs, first, second, unit, seed_level(records, starts, measure),
                                                     higher_is_better=higher) + ".")
    return lines


def verdict_figures(records: list[dict], starts: tuple) -> list:
    """verdict_table drawn as a table page (experiments.pdf and the reports draw the same): every
    fraction's interval in a table rather than a sentence; none without a difference to show."""
    return [fig for table in verdict_tables(records, starts) for fig in table_figures(*table)]


def verdict_tables(records: list[dict], starts: tuple) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
    """[(title, columns, rows, notes)] of verdict_table; none without a difference to show."""
    columns, rows, notes = verdict_table(records, starts)
    return [(f"{starts[1].capitalize()} against {starts[0]} start, fraction by fraction", columns, rows,
             notes)] if rows else []


def verdict_pages(stem: str, heading: str, records: list[dict], starts: tuple) -> list[Page]:
    return series(stem, heading, "each fraction's seed-paired difference (mean, 95 % interval)",
                  verdict_figures(records, starts))


def verdict_table(records: list[dict], starts: tuple) -> tuple[list[str], list[list[str]], list[str]]:
    """Each fraction's seed-paired difference, for test accuracy and the lowest validation loss:
    the mean and its 95 % interval, * where the interval excludes 0 (columns, rows, notes)."""
    first, second = starts
    measures = (("test_acc", f"test acc %, {second} - {first}", 2), ("val_loss", f"val loss, {first} - {second}", 4))
    diffs = {m: differences(records, starts, m) for m, _, _ in measures}
    if not diffs["test_acc"]:
        return [], [], []

    def cell(d: dict, digits: int) -> str:
        if d["low"] is None:
            return f"{d['mean']:+.{digits}f}"
        mark = " *" if stats.excludes_zero(d) else ""
        return (f"{d['mean']:+.{digits}f} ({stats.bound(d['low'], digits)} to {stats.bound(d['high'], digits)})"
                + mark)
    rows = [[fraction] + [cell(diffs[m][fraction], digits) for m, _, digits in measures]
            for fraction in diffs["test_acc"]]
    ns = sorted({d["n"] for d in diffs["test_acc"].values()})
    notes = [f"Each cell: the mean over {'-'.join(map(str, ns))} seeds of the seed-paired difference and its 95 % "
             f"interval; > 0 means {second} is ahead (for the loss too: {first}'s minus {second}'s). * the interval "
             "excludes 0."]
    return ["labels used"] + [label for _, label, _ in measures], rows, notes


COLUMNS = (Column("run", "name"), Column("start", "start"), Column("fraction %", "fraction", "{:g}"),
           Column("training images", "images", "{:,}"), Column("seed", "seed"), Column("epochs run", "epochs"),
           Column("lowest train loss", "lowest_train_loss", "{:.4f}"),
           Column("lowest val loss", "lowest_val_loss", "{:.4f}"), Column("best epoch", "best_epoch"),
           Column("train acc %", "train_acc", "{:.2f}"), Column("val acc %", "val_acc", "{:.2f}"),
           Column("test acc %", "test_acc", "{:.2f}"), Column("seconds", "seconds", "{:.0f}"))


def sweep_page(stem: str, heading: str, records: list[dict], starts: tuple) -> Page:
    values = by_fraction(records, starts)
    return Page(stem, heading, "against the fraction of labelled data",
                figures.sweep_figure(f"Fashion-MNIST-1 classifiers from a {starts[0]} or {starts[1]} start: test "
                                    "accuracy at each run's epoch of lowest validation loss; the loss panels show "
                                    "each run's lowest value over its epochs (dots: the seeds; lines: their mean; "
                                    "bars: their range)",
                                    [(label, values[m]) for m, label, _ in METRICS]))


def common_notes(records: list[dict], first: str, second: str) -> list[str]:
    sweep = [r for r in records if swept(r["config"]) and "diverged" not in r]
    sizes = sweep[0]["sizes"] if sweep else {}
    return [f"Fashion-MNIST-1 = {', '.join(CLASSES[k] for k in HALF1)}; Fashion-MNIST-2 = "
            f"{', '.join(CLASSES[k] for k in HALF2)}; each relabelled 0-4. Every sweep run: a fresh HalfCNN, "
            f"the same {sizes.get('val', 0):,} validation and {sizes.get('test', 0):,} test images; seeds "
            f"{', '.join(str(s) for s in sorted({r['config']['seed'] for r in sweep}))} at every fraction, each seed "
            "its own class-stratified, nested training subsets, the same for both starts (as are its batch order "
            "and its new layers' initial weights).",
            "Cells: mean ± the 95 % t-interval's half-width over the seeds (n); * = the lowest mean validation "
            f"loss. {len({r['config']['fraction'] for r in sweep})} fractions of "
            + (f"a pool of {sweep[0]['config']['train_per_class']:,} labelled images per class (drawn per seed)"
               if sweep and sweep[0]["config"].get("train_per_class") else "every labelled image") + ".",
            f"Starts: random = {first}; the other = {second}. Accuracies are at the epoch of the lowest validation "
            "loss, counted over every image (no per-batch division); losses are plain cross-entropy."]


def upstream_record(records: list[dict], needing: str | None = None) -> dict | None:
    """The upstream run's record (the network every other run starts from), one with `needing`
    among its keys when given; None when there is none."""
    return next((r for r in records if r["config"]["kind"] == "upstream" and (needing is None or needing in r)), None)


def swept(config: dict) -> bool:
    """Whether a run is one of the sweep's (not the upstream run every other starts from)."""
    return config["kind"] == "sweep"


class Sweep(Study):
    """A fraction sweep: an upstream run (saved as `upstream_file`), then every fraction, seed
    and start; a subclass names its starts and plans, runs and describes its upstream."""
    columns, measure, classes = COLUMNS, "val_loss", HALF1
    starts: tuple = ()
    upstream_file: str = ""

    def upstream_network(self, config) -> torch.nn.Module:
        """A fresh upstream network: what the `networks` of a run that starts from it include."""
        raise NotImplementedError

    def compared(self, config) -> bool:
        return swept(config)

    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        c = runs[0]["config"]
        if c["kind"] != "sweep":
            return {"start": "the upstream network", "training images": f"{runs[0]['sizes']['train']:,}"}
        return {
            "start": c["start"],
            "fraction %": f"{100 * c['fraction']:g}",
            "training images": f"{runs[0]['sizes']['train']:,}",
        }

    def rows(self, records: list[dict]) -> list[dict]:
        return run_rows(records)

    def headline(self, results: dict) -> list[str]:
        """The summary's lines: each measure's claim across the sweep."""
        return verdicts(planned(results), self.starts)

    def tables(self, results: dict) -> list:
        return verdict_tables(planned(results), self.starts)

    def files(self, config) -> list[str]:
        """A finished run counts only while the upstream weights it was started from are there."""
        if config["kind"] == "upstream":
            return [config["file"]]
        return [] if config["start"] == "random" else [self.upstream_file]

    def networks(self, config) -> list:
        """A run's own network, then the network whose weights it starts from (if any)."""
        if config["kind"] == "upstream":
            return [self.upstream_network(config)]
        return [HalfCNN(len(HALF1))] + ([] if config["start"] == "random" else [self.upstream_network(config)])
