"""The one verdict rule of every comparison the package states.

Two settings compared over seeds are paired by seed (same seed: same initial weights, batch
order and data subset), so the rule is a t-interval of the per-seed differences: the mean
difference +- t(0.975, n - 1) x its standard error. A verdict names a winner only when that
95 % interval excludes zero; otherwise it says no difference was detected at this budget,
with the interval, since "no difference detected" is an answer too.
"""
import math

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def interval(values, confidence: float = CONFIDENCE) -> dict:
    """Mean and the t-interval of the mean of `values` (n >= 2; with n = 1 the bounds are None)."""
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("an interval needs at least one value")
    mean = sum(values) / n
    if n < 2:
        return {"mean": mean, "low": None, "high": None, "half_width": None, "n": n}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "low": mean - half, "high": mean + half, "half_width": half, "n": n}


def paired(a: dict, b: dict, confidence: float = CONFIDENCE) -> dict:
    """b minus a over the seeds both have (`a` and `b` map seed -> value): the interval of the
    per-seed differences, with the seeds used."""
    seeds = sorted(set(a) & set(b), key=str)
    if not seeds:
        raise ValueError("the two settings share no seed")
    result = interval([b[s] - a[s] for s in seeds], confidence)
    result["seeds"] = list(seeds)
    return result


def median_difference(a, b, confidence: float = CONFIDENCE, resamples: int = 2000, seed: int = 0) -> dict:
    """median(b) - median(a) for two independent samples (images, not seeds), with its percentile
    bootstrap interval (scipy's bootstrap, seeded): the rule for comparing two networks over the
    images each was measured on."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    diff = lambda u, v, axis=-1: np.median(v, axis=axis) - np.median(u, axis=axis)  # noqa: E731
    ci = stats.bootstrap((a, b), diff, n_resamples=resamples, confidence_level=confidence, method="percentile",
                         random_state=seed).confidence_interval
    return {"mean": float(diff(a, b)), "low": float(ci.low), "high": float(ci.high), "n": min(len(a), len(b))}


def median_interval(values, confidence: float = CONFIDENCE, resamples: int = 2000, seed: int = 0) -> dict:
    """The median of one sample of images with its percentile bootstrap interval (scipy's, seeded)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return {"mean": float(np.median(values)), "low": None, "high": None, "n": len(values)}
    ci = stats.bootstrap((values,), np.median, n_resamples=resamples, confidence_level=confidence,
                         method="percentile", random_state=seed).confidence_interval
    return {"mean": float(np.median(values)), "low": float(ci.low), "high": float(ci.high), "n": len(values)}


def excludes_zero(diff: dict) -> bool:
    return diff["low"] is not None and (diff["low"] > 0 or diff["high"] < 0)


def flipped(diff: dict) -> dict:
    """The interval of a minus b from that of b minus a."""
    return {**diff, "mean": -diff["mean"], "low": None if diff["high"] is None else -diff["high"],
            "high": None if diff["low"] is None else -diff["low"]}


def bound(value: float, digits: int, sign: str = "+") -> str:
    """An interval's end with `digits` decimals, or as many more (up to 6) as it takes to show a
    non-zero end as non-zero: an interval that excludes zero never prints as touching it."""
    k = digits
    while value != 0 and float(f"{value:.{k}f}") == 0 and k < digits + 6:
        k += 1
    return f"{value:{sign}.{k}f}"


def span(diff: dict, digits: int, unit: str = "") -> str:
    """An interval's two ends, "low to high" (bound's digits), with the unit after the second."""
    return f"{bound(diff['low'], digits)} to {bound(diff['high'], digits)}{unit}"


def verdict(diff: dict, a: str, b: str, unit: str = " points", budget: str = "this budget",
            higher_is_better: bool = True) -> str:
    """One sentence for `paired(a_values, b_values)` (b minus a): who is ahead, or that nothing
    was detected. For a loss (higher_is_better False) the lower side is ahead, and the numbers
    are a minus b, so that they read with the sentence. Points print with 2 decimals, a loss
    (no unit) with 4."""
    n = diff["n"]
    d = 2 if unit.strip() else 4
    gain = diff if higher_is_better else flipped(diff)  # > 0: b is ahead
    what = f"{b} minus {a}" if higher_is_better else f"{a} minus {b}"
    lower = "" if higher_is_better else ", lower is better"
    if diff["low"] is None:
        return (f"{what}{lower}: {gain['mean']:+.{d}f}{unit} from a single seed: no interval, so no verdict "
                "(run at least 3 seeds)")
    ci = lambda x: f"95 % CI {span(x, d, unit)}, {n} seeds"  # noqa: E731
    if gain["low"] > 0:
        return f"{b} ahead of {a} by {gain['mean']:.{d}f}{unit}{lower} ({ci(gain)})"
    if gain["high"] < 0:  # the interval turned round, so that it reads with the sentence
        return f"{a} ahead of {b} by {-gain['mean']:.{d}f}{unit}{lower} ({ci(flipped(gain))})"
    return (f"no difference detected between {a} and {b} at {budget} ({what} {gain['mean']:+.{d}f}{unit}{lower}; "
            f"{ci(gain)})")


def chance(hits: int, tests: int, one_side: bool = False, rate: float | None = None) -> dict:
    """What chance gives: of `tests` 95 % intervals where nothing differs, 5 % exclude zero (2.5 %
    on one named side), or `rate` of them for another null; `expected` such hits and `p`, the
    binomial chance of at least `hits`. `beyond` when that chance is under 5 %. (Tests that share
    seeds are not independent, so p is a guide, not a test.)"""
    rate = (1 - CONFIDENCE) / (2 if one_side else 1) if rate is None else rate
    p = float(stats.binom.sf(hits - 1, tests, rate)) if hits else 1.0
    return {"hits": hits, "tests": tests, "expected": rate * tests, "p": p, "beyond": p < 0.05}


def chance_words(hits: int, tests: int, what: str = "tests", one_side: bool = False, rate: float | None = None) -> str:
    """`hits` intervals excluding zero among `tests` (or hits at `rate` under another null), set
    against what chance gives for that many."""
    c = chance(hits, tests, one_side, rate)
    side = " on that side" if one_side else ""
    if not hits:
        return f"none of {tests} {what}, where chance alone gives {c['expected']:.2g}{side}"
    return (f"{hits} of {tests} {what}, where chance alone gives {c['expected']:.2g}{side} (p = {c['p']:.2g} for "
            f"{hits} or more): {'more than chance' if c['beyond'] else 'no more than chance, so weak evidence'}")


def across(diffs: dict, a: str, b: str, unit: str = " points", overall: dict | None = None,
           higher_is_better: bool = True) -> str:
    """A claim across a sweep (`diffs`: setting -> paired(...) of b minus a, each with its own
    seeds). "b is better at every setting" is claimed only when every interval excludes zero
    on b's side (an intersection-union test: no correction needed); else the count of intervals
    that exclude zero beside what chance gives for that many. `overall`: b minus a averaged over
    the settings seed by seed, its interval over the seeds (the seed, not the setting, is the
    unit: the settings share seeds and images), said last. Every interval reads "> 0: b ahead",
    for a loss too (`higher_is_better` False only words `overall` as a loss)."""
    values = list(diffs.values())
    ahead = [k for k, d in diffs.items() if excludes_zero(d) and d["low"] > 0]
    behind = [k for k, d in diffs.items() if excludes_zero(d) and d["high"] < 0]
    mean = "" if overall is None else "; averaged over the settings seed by seed, " + verdict(
        overall if higher_is_better else flipped(overall), a, b, unit, higher_is_better=higher_is_better)
    if values and len(ahead) == len(values):
        return f"{b} ahead of {a} at every one of the {len(values)} settings (each 95 % interval excludes 0){mean}"
    if values and len(behind) == len(values):
        return f"{a} ahead of {b} at every one of the {len(values)} settings (each 95 % interval excludes 0){mean}"
    hits = len(ahead) + len(behind)
    return (f"{b} ahead at {len(ahead)} and {a} ahead at {len(behind)} of {len(values)} settings by their 95 % "
            f"intervals, no difference detected at the other {len(values) - hits}; "
            f"{chance_words(hits, len(values), 'settings')}{mean}")
