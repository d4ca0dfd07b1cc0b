"""Accuracy against training time (benchmark.py --time-budgets): the hand-in's CNN and
candidate families trained for 1, 1.5 and 2 times its training time, 3 seeds each.

A budget is a multiple of the first family's training time on the machine at hand. Each
family's epochs for a budget are fixed once, from training-step times measured back to back
(`calibrate`), and saved with the results, so a resumed run trains the same plan; the table
and the figure then use the seconds every run actually took. Runs are paired by seed (same
seed: same batch order and flips) and saved one by one, so Ctrl-C loses at most the run in
progress. The verdicts are the package's one rule (core.stats): a family beats another
only where the 95 % interval of the per-seed differences excludes zero.
"""
import dataclasses
import json
import math
import statistics
import time
from pathlib import Path

import numpy as np  # noqa: E402
import torch
from matplotlib.figure import Figure  # noqa: E402

from fmnist.core import provenance, stats, storage, words
from fmnist.core.plotting import GRAY
from fmnist.core.training import TrainSettings, fit, predict, progress

# Each family: Conv_Net's keyword arguments ("model") and what its training changes from the
# CNN's defaults ("train"); the first family is the one the budgets are multiples of.
FAMILIES = {
    "24-48-96 (2026-12-01)": {"model": {"widths": [24, 48, 96], "extra": [0, 0, 0]}, "train": {}},
    "24-48-96 + conv at 3x3": {"model": {"widths": [24, 48, 96], "extra": [0, 0, 1]}, "train": {}},
    "24-48-96, alternating flips": {"model": {"widths": [24, 48, 96], "extra": [0, 0, 0]},
                                    "train": {"alternate": True}},
}
RATIOS = (1.0, 1.5, 2.0)
TARGET, FLOOR = 0.94, 0.937  # the goal: a mean of 3 seeds at 94.0 %, none below 93.7 %


def base_name(results: dict) -> str:
    return next(iter(results["families"]))


def calibrate(families: dict, build, time_step, base_epochs: int, rounds: int = 3) -> dict:
    """Milliseconds per training step of each family's network (the fastest of `rounds`
    interleaved measurements, so a slow spell of the machine hits every network alike; families
    that differ only in training share their network's time) and, from them, the epochs that
    give each budget: base_epochs x ratio x (base step / family step), rounded."""
    network = {name: json.dumps(f["model"], sort_keys=True) for name, f in families.items()}
    models = {key: families[name]["model"] for name, key in network.items()}
    times = {key: [] for key in models}
    for _ in range(rounds):
        for key, kwargs in models.items():
            times[key].append(1000 * time_step(lambda kw=kwargs: build(**kw)))
    step = {name: min(times[key]) for name, key in network.items()}
    base = step[next(iter(families))]
    epochs = {name: {f"{r:g}": max(1, round(base_epochs * r * base / ms)) for r in RATIOS} for name, ms in step.items()}
    return {"step_ms": step, "base_epochs": base_epochs, "epochs": epochs}


def run_one(model_fn, settings: TrainSettings, splits: dict, device, seed: int) -> dict:
    """Train model_fn() as fashionmnist.py trains the CNN; its test accuracy and training time."""
    torch.manual_seed(seed)  # the initial weights and dropout masks, as fashionmnist.py seeds them
    model = model_fn()
    start = time.perf_counter()
    history = fit(model, splits["train"], splits["val"], settings, device, seed, name="CNN", log=lambda line: None)
    seconds = time.perf_counter() - start
    x, y = splits["test"]
    accuracy = float((predict(model, x, device).argmax(1) == y).float().mean())
    return {"seconds": seconds, "test_acc": accuracy, "best_epoch": history["best_epoch"],
            "epochs_run": len(history["epochs"])}


def load(path: Path) -> dict:
    return storage.read_json(path, "delete it or run python benchmark.py --time-budgets --fresh")


def execute(path: Path, build, settings: TrainSettings, splits: dict, device, where: str, seeds: int, time_step,
            fresh: bool = False, families: dict | None = None) -> dict:
    """Run (or resume) every family x budget x seed, each family `build(**its model kwargs)`
    (the assignment's Conv_Net, passed in by benchmark.py) trained with `settings` and its own
    changes; the results, saved after each run."""
    families = families or FAMILIES
    results = {} if fresh else load(path)
    if results.get("families") != families or results.get("precision") != settings.precision:
        results = {"families": families, "precision": settings.precision, "device": where, "started": provenance.now(),
                   "calibration": calibrate(families, build, time_step, settings.epochs), "runs": []}
        storage.save_json(results, path)  # Ctrl-C keeps every finished run
    done = {(r["family"], r["ratio"], r["seed"]) for r in results["runs"]}
    todo = [(name, f"{r:g}", seed) for r in RATIOS for seed in range(seeds) for name in families
            if (name, f"{r:g}", seed) not in done]
    start = time.perf_counter()
    for name, ratio, seed in progress(todo, desc="budget runs", unit="run"):
        epochs = results["calibration"]["epochs"][name][ratio]
        family = families[name]
        record = run_one(lambda: build(**family["model"]),
                         dataclasses.replace(settings, epochs=epochs, **family["train"]), splits, device, seed)
        results["runs"].append({"family": name, "ratio": ratio, "seed": seed, "epochs": epochs, **record})
        storage.save_json(results, path)  # Ctrl-C keeps every finished run
        print(f"{name} at {ratio}x ({epochs} epochs), seed {seed}: {100 * record['test_acc']:.2f}% "
              f"in {record['seconds']:.0f} s", flush=True)
    if todo:
        print(f"{len(todo)} budget runs took {time.perf_counter() - start:.0f} s", flush=True)
    return results


def cells(results: dict) -> dict:
    """{(family, ratio): {"acc": {seed: %}, "seconds": {seed: s}, "epochs": n}}."""
    out = {}
    for r in results["runs"]:
        cell = out.setdefault((r["family"], r["ratio"]), {"acc": {}, "seconds": {}, "epochs": r["epochs"]})
        cell["acc"][r["seed"]] = 100 * r["test_acc"]
        cell["seconds"][r["seed"]] = r["seconds"]
    return out


def summary(results: dict) -> list[dict]:
    """One row per family and budget: accuracy interval, lowest seed, seconds (and as a multiple
    of the first family's at 1x), whether the target is met, the verdict against the first family."""
    by, base = cells(results), base_name(results)
    unit = statistics.mean(by[(base, "1")]["seconds"].values()) if (base, "1") in by else math.nan
    rows = []
    for (name, ratio), cell in by.items():
        acc = stats.interval(list(cell["acc"].values()))
        seconds = statistics.mean(cell["seconds"].values())
        lowest = min(cell["acc"].values())
        row = {"family": name, "ratio": ratio, "epochs": cell["epochs"], "acc": acc, "min": lowest,
               "seconds": seconds, "times_base": seconds / unit, "n": acc["n"],
               "target_met": acc["n"] >= 3 and acc["mean"] >= 100 * TARGET and lowest >= 100 * FLOOR}
        if name != base and (base, ratio) in by:
            row["diff"] = stats.paired(by[(base, ratio)]["acc"], cell["acc"])
            row["verdict"] = stats.verdict(row["diff"], base, name, budget=f"{ratio}x the training time")
        rows.append(row)
    return sorted(rows, key=lambda row: (float(row["ratio"]), list(results["families"]).index(row["family"])))


def more_time(results: dict) -> list[str]:
    """Per family: what the largest budget bought over 1x, by the same paired rule."""
    by, top = cells(results), f"{max(RATIOS):g}"
    return [stats.verdict(stats.paired(by[(name, "1")]["acc"], by[(name, top)]["acc"]), f"{name} at 1x",
                          f"{name} at {top}x", budget="these budgets")
            for name in results["families"] if (name, "1") in by and (name, top) in by]


def conclusion(rows: list[dict], base: str) -> list[str]:
    """The best at 1x and whether the default should change; what the target costs."""
    first = [r for r in rows if r["ratio"] == "1"]
    best = max(first, key=lambda r: r["acc"]["mean"])
    ahead = [r for r in first if "diff" in r and stats.excludes_zero(r["diff"]) and r["diff"]["low"] > 0]
    if ahead:
        pick = max(ahead, key=lambda r: r["diff"]["mean"])
        out = [f"At 1x, {pick['family']} is ahead of {base} (its interval excludes 0): it is the one to make the "
               "default."]
    else:
        out = [f"At 1x no family is ahead of {base} (no interval of the difference lies above 0; the highest mean "
               f"is {best['acc']['mean']:.2f} %, {best['family']}), so the default stays {base}."]
    met = [r for r in rows if r["target_met"]]
    if met:
        cheapest = min(met, key=lambda r: r["seconds"])
        out.append(f"The cheapest budget that meets the target ({100 * TARGET:.1f} % mean, none below "
                   f"{100 * FLOOR:.1f} %) is {cheapest['family']} at {cheapest['ratio']}x "
                   f"({cheapest['seconds']:.0f} s of training a run).")
    else:
        top = max(rows, key=lambda r: r["acc"]["mean"])
        out.append(f"No family meets the target ({100 * TARGET:.1f} % mean of 3 seeds, none below {100 * FLOOR:.1f} %) "
                   f"within {max(RATIOS):g}x the training time: the highest mean is {top['acc']['mean']:.2f} % "
                   f"({top['family']} at {top['ratio']}x, {top['seconds']:.0f} s a run), "
                   f"{100 * TARGET - top['acc']['mean']:.2f} points short, with its lowest seed at {top['min']:.2f} %.")
    return out


def markdown(results: dict) -> list[str]:
    rows = summary(results)
    base, cal = base_name(results), results["calibration"]
    lines = [f"Accuracy against training time ({results['precision']}, {results['device']}; started "
             f"{results.get('started', '?')}): the test accuracy of each CNN family trained for "
             + ", ".join(f"{r:g}" for r in RATIOS) + f" times the training time of {base} (its default "
             f"{cal['base_epochs']} epochs at 1x). Epochs per budget come from training-step times measured back "
             "to back: " + ", ".join(f"{n} {ms:.1f} ms" for n, ms in cal["step_ms"].items()) + ". "
             "Seconds are those the runs took (the machine's speed drifts, so equal epochs need not take equal time).",
             "", "| family | budget | epochs | seconds (x the first at 1x) | test acc mean ± 95 % (n) | lowest | "
             f"{100 * TARGET:.1f} % (none below {100 * FLOOR:.1f}) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        half = "" if r["acc"]["half_width"] is None else f" ± {r['acc']['half_width']:.2f}"
        lines.append(
            f"| {r['family']} | {r['ratio']}x | {r['epochs']} | {r['seconds']:.0f} ({r['times_base']:.2f}) | "
            f"{r['acc']['mean']:.2f}{half} ({r['n']}) | {r['min']:.2f} | {'yes' if r['target_met'] else 'no'} |"
        )
    lines += ["", "Against the first family at the same budget:", ""]
    lines += [f"- {r['ratio']}x: {r['verdict']}." for r in rows if "verdict" in r]
    lines += ["", f"What {max(RATIOS):g}x the time bought each family:", ""]
    lines += [f"- {words.sentence(v)}." for v in more_time(results)]
    return lines + [line for c in conclusion(rows, base) for line in ("", c)]


def figure_data(results: dict) -> dict:
    """{family: [(mean seconds, [accuracy per seed], "1x, 11 epochs") per budget]} for budget_figure."""
    by = cells(results)
    return {name: [(statistics.mean(c["seconds"].values()), list(c["acc"].values()), f"{r:g}x, {c['epochs']} ep")
                   for r in RATIOS if (c := by.get((name, f"{r:g}")))] for name in results["families"]}


def budget_figure(title: str, families: dict, target: float, floor: float) -> Figure:
    """Test accuracy (%) against training seconds, a line per family through its budgets' means,
    bars from the lowest to the highest seed, each seed a dot; the target and its floor dashed.
    `families`: {name: [(seconds, [accuracy per seed], label) per budget]}; each mean is labelled."""
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    for k, (name, points) in enumerate(families.items()):
        seconds = np.array([s for s, _, _ in points])
        means = np.array([np.mean(a) for _, a, _ in points])
        low = means - np.array([min(a) for _, a, _ in points])
        high = np.array([max(a) for _, a, _ in points]) - means
        ax.errorbar(seconds, means, yerr=[low, high], fmt="o-", capsize=4, color=f"C{k}", label=name)
        for (s, accs, label), mean in zip(points, means):
            ax.scatter([s] * len(accs), accs, s=12, color=f"C{k}", alpha=0.5, zorder=3)
            ax.annotate(
                label, (s, mean), xytext=(6, -10 - 9 * k), textcoords="offset points", fontsize=7, color=f"C{k}"
            )
    ax.axhline(target, color=GRAY, linestyle="--", linewidth=1)
    ax.axhline(floor, color=GRAY, linestyle=":", linewidth=1)
    ax.annotate(f"target: mean {target:.1f}%", (0.01, target), xycoords=("axes fraction", "data"),
                va="bottom", fontsize=8, color=GRAY)
    ax.annotate(f"no seed below {floor:.1f}%", (0.01, floor), xycoords=("axes fraction", "data"),
                va="bottom", fontsize=8, color=GRAY)
    ax.set_xlabel("training time per run (s; mean of the seeds)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="line: mean; bars: seed range; dots: seeds", title_fontsize=8)
    return fig
