"""Spec 004's two sweeps (3.4.4-3.4.5, 3.5.4-3.5.5): random weights against pretrained or
transferred ones at 5-100 % of Fashion-MNIST-1's labels, answered from the training and
validation losses the spec asks to plot, with each count of intervals beside what chance gives
and the seed as the unit across the sweep."""
import numpy as np
from scipy.stats import spearmanr

from fmnist.core import stats, words
from fmnist.core.words import ci
from fmnist.reports.build import mean_of, rise, rows
from fmnist.studies import figures, groups, sweep
from fmnist.studies.study import planned


def sweep_curve_words(records: list[dict], starts: tuple) -> str:
    """3.4.4/3.5.4's curves read: when each start reaches its lowest validation loss, and how often
    its loss rises well past it."""
    runs = {row: r for row, r in groups.first_seeds(records).items() if sweep.swept(r["config"])}
    parts = []
    for start in starts:
        mine = [r for r in runs.values() if r["config"]["start"] == start]
        if not mine:
            continue
        best = sorted(r["best_epoch"] for r in mine)
        over = sum(rise(r["history"], r["best_epoch"]) > 0.1 for r in mine)
        parts.append(f"the {start} start reaches its lowest validation loss at a median epoch of "
                     f"{float(np.median(best)):g} ({best[0]}-{best[-1]}), and its last epoch ends more than 10 % above "
                     f"that lowest point at {over} of {len(mine)} fractions")
    fractions = max(sum(r["config"]["start"] == s for r in runs.values()) for s in starts)  # a row each
    return (f"Read from the curves of all {fractions} fractions (each one's first seed; experiments.pdf draws every "
            "one): " + "; ".join(parts) + "." if parts else "")


def sweep_figures(name: str, starts: tuple):
    def draw(src):
        records = planned(src.studies[name])
        by = rows(src.studies[name])
        curves = {}
        for _row, runs in by.items():
            c = runs[0]["config"]
            if sweep.swept(c):
                curves.setdefault(c["fraction"], {})[c["start"]] = runs[0]["history"]
        shown = shown_fractions(sorted(curves))
        values = sweep.by_fraction(records, starts)
        return ([figures.sweep_figure(f"Lowest training and validation loss and test accuracy against the fraction "
                                     f"of Fashion-MNIST-1's training images, {starts[0]} against {starts[1]} start "
                                     "(mean of the seeds, bars their range)",
                                     [(label, values[m]) for m, label, _ in SWEEP_PANELS]),
                figures.fraction_curves_figure(
                    f"Training (dashed) and validation (solid) loss per epoch, {starts[0]} against {starts[1]} start, "
                    f"the first seed at {words.listing([f'{100 * f:g} %' for f in shown])} of the labels"
                    + (f" ({len(shown)} of the {len(curves)} fractions; every fraction's curves are in "
                       "experiments.pdf)" if len(shown) < len(curves) else ""),
                    {f"{100 * f:g}%": curves[f] for f in shown}, one_row=True)]
                + sweep.verdict_figures(records, starts))
    return draw


def shown_fractions(fractions: list[float]) -> list[float]:
    """The fractions whose per-epoch curves the report draws: the smallest, the one nearest the
    middle and the largest (one row of panels; the lowest losses at every fraction are in the
    figure before it, every fraction's curves in experiments.pdf)."""
    if len(fractions) <= 3:
        return list(fractions)
    middle = min(fractions[1:-1], key=lambda f: abs(f - (fractions[0] + fractions[-1]) / 2))
    return [fractions[0], middle, fractions[-1]]


# 3.4.4 / 3.5.4 ask for the training and validation losses: those first, test accuracy last
SWEEP_PANELS = tuple(next(m for m in sweep.METRICS if m[0] == k)
                     for k in ("lowest_train_loss", "lowest_val_loss", "test_acc"))
SWEEP_MEASURES = (("val_loss", "lowest validation loss", ""), ("train_loss", "lowest training loss", ""),
                  ("test_acc", "test accuracy", " points"))


def superior(records: list[dict], starts: tuple, measure: str) -> tuple[dict, int]:
    """{start: the fractions where it is ahead by its paired 95 % interval}, and of how many fractions."""
    diffs = sweep.differences(records, starts, measure)
    return ahead_at(diffs, starts), len(diffs)


def ahead_at(diffs: dict, starts: tuple) -> dict:
    """{start: the fractions of `diffs` (sweep.differences) where its paired 95 % interval puts it ahead}."""
    ahead = {s: [] for s in starts}
    for fraction, d in diffs.items():  # > 0: the second start ahead, for a loss too
        if stats.excludes_zero(d):
            ahead[starts[1] if d["low"] > 0 else starts[0]].append(fraction)
    return ahead


def trend_words(records: list[dict], starts: tuple, measure: str = "val_loss",
                label: str = "lowest validation loss") -> str:
    """Where along the sweep the second start's gain lies: its mean at the smallest and the largest
    fraction, the rank correlation of the per-fraction means with the fraction (the fractions share
    seeds and images, so its p is a guide), and how many of the fractions whose interval puts it
    ahead lie in the lower half of the sweep."""
    diffs = sweep.differences(records, starts, measure)
    if len(diffs) < 4:
        return ""
    keys = list(diffs)
    means = [diffs[k]["mean"] for k in keys]
    rho, p = spearmanr(range(len(keys)), means)
    ahead = ahead_at(diffs, starts)[starts[1]]
    low_half = [k for k in ahead if keys.index(k) < len(keys) / 2]
    digits = 4 if groups.MEASURES[measure][2] is False else 2
    shape = ("shrinks as the data grows" if p < 0.05 and rho < 0 else "grows with the data" if p < 0.05 and rho > 0
             else "shows no trend with the amount of data")
    return (f"Where it shows: the {starts[1]} start's gain in {label} is {means[0]:+.{digits}f} at {keys[0]} and "
            f"{means[-1]:+.{digits}f} at {keys[-1]}, and {shape} (Spearman rank correlation with the fraction "
            f"{rho:+.2f}, p = {p:.2g}, a guide only: the fractions share seeds and images)"
            + (f"; {len(low_half)} of the {len(ahead)} fractions where its interval puts it ahead lie in the lower "
               f"half, at or below {keys[len(keys) // 2 - 1]}" if ahead else "") + ".")


def sweep_answer(name: str, starts: tuple):
    """The spec's two questions answered from the losses it asks to plot (each run's lowest
    validation and training loss, paired by seed at each fraction; the count of intervals that
    exclude zero beside what chance gives; the seed-level mean over the sweep), then test accuracy."""
    def answer(src) -> str:
        records = planned(src.studies[name])
        point, always, every = [], [], []
        for measure, label, unit in SWEEP_MEASURES:
            ahead, tests = superior(records, starts, measure)
            hits = sum(map(len, ahead.values()))
            some = [f"{s} at {', '.join(v)}" for s, v in ahead.items() if v]
            point.append(f"- {label}: " + (f"{'; '.join(some)}; {stats.chance_words(hits, tests, 'fractions')}."
                                           if some else f"none of the {tests} fractions."))
            every += [f"{s} by {label}" for s, v in ahead.items() if tests and len(v) == tests]
            overall = sweep.seed_level(records, starts, measure)
            higher = groups.MEASURES[measure][2]
            always.append(f"- {label}: " + ("too few seeds for an interval" if overall is None else stats.verdict(
                overall if higher else stats.flipped(overall), *starts, unit=unit, higher_is_better=higher)) + ".")
        lines = ["Is there a point where one initialisation is superior? The fractions where the 95 % interval of the "
                 "seed-paired difference excludes 0, by"] + point + [
            "Is one always superior? " + (f"Yes: {words.listing(every)}, at every fraction." if every else
                                         "Not at every fraction by its own interval.")
            + " Averaged over the fractions seed by seed (the seed is the unit: the fractions share seeds and images), "
            "by"] + always + [""]
        return "\n".join(lines + [trend_words(records, starts),
                                   "The table after the figures gives each fraction's two differences."]
                         + ceiling_words(records) + [sweep_curve_words(records, starts)])
    return answer


def ceiling_words(records: list[dict]) -> list[str]:
    """The sweep's rows with a run that reached the epoch ceiling, and what that does to the
    verdicts at their fractions."""
    rows = {row: runs for row, runs in groups.by_row(records).items() if sweep.swept(runs[0]["config"])}
    names = groups.unconverged(rows)
    if not names:
        return []

    def seeds(name: str) -> str:
        hit = sum(groups.at_ceiling(r) for r in rows[name])
        return f"{name} ({hit} of {len(rows[name])} seeds)"
    return [f"Not converged: {words.listing([seeds(n) for n in names])} reached the "
            f"{rows[names[0]][0]['config']['epochs']}-epoch ceiling before early stopping, so the verdicts at those "
            "fractions compare unfinished training."]


def in_short(records: list[dict], starts: tuple) -> str:
    """A sweep in one line for the discussion: the second start against the first by lowest
    validation loss (the spec's question) and by test accuracy, each averaged over the fractions
    seed by seed (the seed is the unit: the fractions share seeds and images); each fraction's own
    intervals are in its item."""
    first, second = starts
    parts = []
    for measure, what, unit, digits in (("val_loss", "lowest validation loss", "", 4),
                                        ("test_acc", "test accuracy", " points", 2)):
        overall = sweep.seed_level(records, starts, measure)  # > 0: the second start ahead, for a loss too
        if overall is None:
            parts.append(f"by {what}, too few seeds for an interval")
            continue
        span = f"95 % CI {stats.span(overall, digits)}"
        side = "ahead" if overall["low"] > 0 else "behind"
        parts.append(f"by {what}, {second} {side} by {abs(overall['mean']):.{digits}f}{unit} ({span})"
                     if stats.excludes_zero(overall) else
                     f"by {what}, no difference detected ({overall['mean']:+.{digits}f}{unit}, {span})")
    return f"{second} against {first} start, averaged over the fractions seed by seed: " + "; ".join(parts) + "."


def best_each(name: str, starts: tuple):
    def answer(src) -> str:
        by = rows(src.studies[name])
        out = []
        for start in starts:
            ranked = sorted(((row, runs) for row, runs in by.items() if runs[0]["config"].get("start") == start),
                            key=lambda item: mean_of(item[1], "val_loss")["mean"])
            row, runs = ranked[0]
            out.append(f"{start}: the best by mean validation loss is {row} ({mean_of(runs, 'val_loss')['mean']:.4f}); "
                       f"training {ci(mean_of(runs, 'train_acc'))}, validation {ci(mean_of(runs, 'val_acc'))}, test "
                       f"{ci(mean_of(runs, 'test_acc'))}.")
        return "\n".join(out)
    return answer
