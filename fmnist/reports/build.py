"""One report per spec, from what the other scripts wrote (it trains nothing): a first page
that lists every item of the spec with the page that answers it, or the command that would
produce it; then each item in the spec's order: its number and question and, where the spec
asks a question, the answer computed from the run, then each of its figures or tables on a
page of its own (every page on the standard of `fmnist.core.pages`).
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
from matplotlib.figure import Figure

from fmnist.core import files, pages, stats, storage
from fmnist.core.metrics import random_tap_correlation, tap_correlation
from fmnist.studies import groups
from fmnist.studies.study import planned

COMMANDS = {"metrics": "python fashionmnist.py", "analysis": "python analyze.py"}
ORPHAN = 6  # an item starting in a page's last lines starts on the next page


@dataclass
class Sources:
    """What the other scripts wrote under one output folder (None: not there, or not finished)."""
    out_dir: Path
    metrics: dict | None = None
    analysis: dict | None = None
    studies: dict = field(default_factory=dict)

    def has(self, need: str) -> bool:
        if need in ("metrics", "analysis"):
            return bool(getattr(self, need))
        return bool(self.studies.get(need.split(":", 1)[1]))

    def png(self, relative: str) -> Path:
        return self.out_dir / relative


def studies(items: list) -> list[str]:
    """The studies some item needs ("study:NAME"), in the order they are first named."""
    return list(dict.fromkeys(n.split(":", 1)[1] for i in items for n in i.needs if n.startswith("study:")))


def command(need: str) -> str:
    return COMMANDS.get(need) or f"python experiments.py {need.split(':', 1)[1]}"


def load(out_dir: Path, study_names) -> Sources:
    """Every file a report may read, each checked by its own loader."""
    out_dir = Path(out_dir)
    studies = {}
    for name in study_names:
        results = files.load_results(out_dir / "experiments" / name / "results.json", name)
        studies[name] = results if results.get("finished") else None
    metrics = files.load_metrics(out_dir) or None
    analysis = files.load_analysis(out_dir) or None
    return Sources(out_dir, metrics, analysis, studies)


@dataclass(frozen=True)
class Item:
    """One item of a spec: its number, a short form of its words, its points (if the spec gives
    them), the question in the spec's words, what it needs, its visuals (figures or PNG paths)
    and, where the spec asks a question, its answer (a paragraph computed from the sources)."""
    number: str
    short: str
    question: str
    needs: tuple = ()
    visuals: Callable = lambda src: []
    answer: Callable | None = None
    points: str | None = None

    def missing(self, src: Sources) -> list[str]:
        return [n for n in self.needs if not src.has(n)]


def visual_page(visual, src: Sources) -> Figure:
    """A figure as it is, or a PNG the other scripts wrote (a standard page itself) filling a page."""
    if not isinstance(visual, (str, Path)):
        return visual
    fig = Figure(figsize=pages.PAGE_INCHES)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(mpimg.imread(src.png(str(visual))))
    ax.set_axis_off()
    return fig


def item_lines(item: Item, src: Sources, visuals: list) -> list[str]:
    """An item's heading, question and answer, and where its figures are."""
    head = f"ITEM {item.number}" + (f" ({item.points} points)" if item.points else "")
    lines = [head, f"Question: {item.question}", ""] + (item.answer(src).split("\n") if item.answer else [])
    if visuals:
        lines += ["", f"The {'figure' if len(visuals) == 1 else f'{len(visuals)} figures'} of this item "
                      f"follow{'s' if len(visuals) == 1 else ''} on the next page{'s' if len(visuals) > 1 else ''}."]
    return lines


def run_pages(spec: str, run: list[tuple[Item, list]], src: Sources) -> tuple[list[Figure], dict]:
    """A run of items (the last the only one with figures): their text flowed onto as few pages
    as it needs, an item that would start in a page's last lines moved to the next page, then
    the last item's figures, a page each. Returns the pages and {item number: its page within}."""
    chars, per_page, _ = pages.TEXT[True]
    flowed, first = [], {}
    for item, visuals in run:
        lines = pages.wrap("\n".join(item_lines(item, src, visuals)), chars).split("\n")
        room = per_page - len(flowed) % per_page
        if flowed and room < min(ORPHAN, len(lines)):  # its heading alone at the foot of a page
            flowed += [""] * room
        first[item.number] = len(flowed) // per_page
        flowed += lines + [""]
    numbers = [item.number for item, _ in run]
    title = f"Spec {spec}, item{'s' if len(numbers) > 1 else ''} " + (
        numbers[0] if len(numbers) == 1 else f"{numbers[0]} to {numbers[-1]}")
    text = pages.text_pages(title, flowed[:-1], prose=True)
    return text + [visual_page(v, src) for v in run[-1][1]], first


def item_runs(items: list[Item], src: Sources) -> list[list[tuple[Item, list]]]:
    """The answered items in runs that end at an item with figures, so that the text of items
    without figures shares pages instead of leaving most of each page blank."""
    runs, current = [], []
    for item in items:
        if item.missing(src):
            continue
        visuals = list(item.visuals(src))
        current.append((item, visuals))
        if visuals:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


def spread(values) -> str:
    """'1,500', or '2,460-5,000' when they differ."""
    low, high = min(values), max(values)
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def study_lines(src: Sources, name: str) -> list[str]:
    """A study's set-up: its runs and the images they are scored on, its budget line, and where
    and how long it ran (from its provenance)."""
    results = src.studies.get(name)
    if not results:
        return [f"- {name}: not run yet ({command('study:' + name)})."]
    records = planned(results)
    sized = [r["sizes"] for r in records if r.get("sizes")]
    p = results.get("provenance") or {}
    return [
        f"- {name} (python experiments.py {name}): {len(records)} runs, each scored on "
        f"{spread([s['val'] for s in sized])} validation and {spread([s['test'] for s in sized])} test images.",
        f"  {groups.budget_line(records, results.get('budget'))}",
        f"  It ran on {p.get('device', 'an unrecorded device')} ({p.get('cpu', 'cpu not recorded')}, "
        f"{p.get('threads', '?')} threads, {p.get('precision', 'fp32')}): "
        f"{sum(r.get('seconds', 0) for r in records) / 60:.1f} "
        f"min of runs, finished {results['finished']}.",
    ]


def kernel_words(kernels: np.ndarray) -> str:
    """What a stack of 3x3 kernels looks like, measured: how smooth they are against random kernels
    of the same count, and how often the centre tap is the largest."""
    k = np.asarray(kernels, dtype=float).reshape(-1, 3, 3)
    rho, (low, high) = tap_correlation(k), random_tap_correlation(len(k))
    centre = 100 * float(np.mean(np.abs(k).reshape(len(k), -1).argmax(1) == 4))
    where = "above" if rho > high else "below" if rho < low else "within"
    barely = where != "within" and abs(rho) < 2 * max(abs(low), abs(high))  # just past chance
    reading = {"above": "they are only just smoother than random kernels, close to chance: most look like noise to the "
                        "eye" if barely else "they are smoother than random kernels, each varying slowly across its "
                        "window (blobs and gradual edges) rather than pixel to pixel",
               "below": "neighbouring taps differ only just more than in random kernels, close to chance" if barely
                        else "neighbouring taps differ more than in random kernels: fine stripes and checkerboards",
               "within": "they show no more spatial structure than random kernels of this count"}[where]
    return (f"neighbouring taps of the {len(k)} kernels correlate at {rho:+.2f}, {where} the range of {low:+.2f} to "
            f"{high:+.2f} that as many kernels of independent random taps give (95 %): {reading}. "
            f"{centre:.0f} % of them have their largest tap at the centre ({100 / 9:.0f} % for random taps).")


def rise(history: list[dict], best_epoch: int) -> float:
    """How far a run's validation loss ended above its lowest point (its best epoch's), as a share."""
    low = history[best_epoch - 1]["val_loss"]
    return (history[-1]["val_loss"] - low) / low if low > 0 else 0.0


def curve_words(history: list[dict], best_epoch: int) -> str:
    """A training run's loss curves read: where the validation loss bottomed out, what it did
    after, and the training loss beside it (overfitting when one rises as the other falls)."""
    val = [e["val_loss"] for e in history]
    train = [e["train_loss"] for e in history]
    low, last, up = val[best_epoch - 1], val[-1], rise(history, best_epoch)
    after = (
        f"then rises to {last:.3f} by epoch {len(val)} (+{100 * up:.0f} %) while the training loss falls from "
        f"{train[best_epoch - 1]:.3f} to {train[-1]:.3f}: the network overfits after epoch {best_epoch}, and early "
        f"stopping keeps that epoch's weights"
        if up > 0.1 and train[-1] < train[best_epoch - 1]
        else f"and ends {last:.3f} at epoch {len(val)} ({100 * up:+.1f} %): no clear overfitting in the epochs run"
    )
    gap = val[best_epoch - 1] - train[best_epoch - 1]
    return (f"the validation loss falls from {val[0]:.3f} after epoch 1 to its lowest, {low:.3f}, in epoch "
            f"{best_epoch} of {len(val)}, {after}. At the best epoch the validation loss is {abs(gap):.3f} "
            f"{'above' if gap > 0 else 'below'} the training loss (a mean over the epoch in training mode).")


def row_concentration(matrix: np.ndarray) -> float:
    """Mean over rows of the largest |weight|'s share of the row's summed |weights| (1/columns for
    a row of equal weights, 1 for a row with one weight)."""
    a = np.abs(np.asarray(matrix, dtype=float))
    return float(np.mean(a.max(1) / np.maximum(a.sum(1), 1e-12)))


def pointwise_words(matrix: np.ndarray, seed: int = 0) -> str:
    """A 1x1 convolution's weights (out x in), measured: it has nothing spatial to draw, so how
    concentrated each output channel's mixing is, against Gaussian random weights of that shape
    (the 95 % range of 200 draws)."""
    m = np.asarray(matrix, dtype=float)
    ours = row_concentration(m)
    rng = np.random.default_rng(seed)
    draws = [row_concentration(rng.standard_normal(m.shape)) for _ in range(200)]
    low, high = np.percentile(draws, [2.5, 97.5])
    where = "above" if ours > high else "below" if ours < low else "within"
    reading = {
        "above": "each output channel leans on a few input channels more than random weights would",
        "below": "each output channel spreads its weight more evenly over the input channels than random weights",
        "within": "each output channel mixes the input channels about as evenly as random weights",
    }[where]
    return (
        f"The block's last conv is its 1x1 pointwise layer, {m.shape[0]} x {m.shape[1]} weights with nothing spatial "
        "to draw "
        f"(right panel): an output channel's largest |weight| holds {100 * ours:.1f} % of its row's total, {where} "
        f"the {100 * low:.1f}-{100 * high:.1f} % that Gaussian random weights of that shape give (95 %): {reading}."
    )


def handin_lines(src: Sources, with_cnn: bool = True) -> list[str]:
    """The data every report shares, and the hand-in CNN's training run where the report quotes it."""
    sizes = (src.metrics or {}).get("sizes") or {"train": 55000, "val": 5000, "test": 10000}
    lines = [
        f"Data: Fashion-MNIST (28x28 grey images of 10 kinds of clothing) from the local IDX files: "
        f"{sizes['train']:,} training and {sizes['val']:,} validation images (a fixed split of the 60,000, seed 0) "
        f"and the {sizes['test']:,} test images. A study trains on a stratified subset of the training split "
        "(its budget line says how many) and scores all its runs on the same validation and test images."
    ]
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    if cnn and with_cnn:
        lines.append(
            f"The hand-in CNN trained on all {sizes['train']:,} training images in {cnn['train_seconds']:.0f} s on "
            f"{cnn.get('device', 'cpu')} ({cnn['config'].get('precision', 'fp32')}), finished "
            f"{cnn.get('finished', '?')}; "
            f"test accuracy {100 * cnn['test']['accuracy']:.2f}%."
        )
    return lines


def first_pages(spec: str, title: str, items: list[Item], where: dict, src: Sources,
                setup: Callable | None = None) -> list[Figure]:
    """Every item of the spec, with the page that answers it or the command that would produce it;
    then the report's set-up (data, networks, studies, departures from the spec)."""
    lines = [f"Spec {spec}: every item in the spec's order, with its page in this report.", ""]
    for item in items:
        at = (f"page {where[item.number]}" if item.number in where
              else "not yet: run " + " and ".join(f"`{command(n)}`" for n in item.missing(src)) + " first")
        points = f" [{item.points}]" if item.points else ""
        lines.append(f"{item.number:7} {item.short}{points}: {at}")
    quick = sorted(name for name, results in src.studies.items() if results and any(
        r["config"].get("quick") for r in results["runs"].values()))
    lines += ["", f"Made by python report.py {spec} from {src.out_dir}: it reads what fashionmnist.py, analyze.py "
                  "and experiments.py wrote, and trains nothing. Every number on the pages comes from those files."]
    if quick:
        lines += ["", f"--quick results (tiny subsets, one epoch: a smoke run, not measurements): {', '.join(quick)}."]
    if setup is not None:
        lines += ["", "SET-UP", ""] + setup(src)
    return pages.text_pages(title, lines)


def write(path: Path, spec: str, title: str, items: list[Item], src: Sources, setup: Callable | None = None,
          closing: Callable | None = None) -> dict:
    """The report: the list of items, then the pages of each item whose sources are there.
    Returns {item number: its first page} for the items it holds."""
    numbers = [i.number for i in items]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"spec {spec}: an item number appears twice")
    bodies = [run_pages(spec, run, src) for run in item_runs(items, src)]
    count = 1
    while len(first_pages(spec, title, items, starts(bodies, count), src, setup)) > count:  # items numbered after it
        count += 1
    where = starts(bodies, count)
    figs = first_pages(spec, title, items, where, src, setup) + [f for body, _ in bodies for f in body]
    if closing is not None:
        figs += pages.text_pages(f"Spec {spec}: discussion", closing(src), prose=True)
    storage.write_atomic(path, lambda tmp: pages.write_pages(tmp, figs, title))  # whole, or the old one kept
    return where


def starts(bodies: list[tuple[list, dict]], before: int) -> dict:
    """{item number: its first page} when `before` pages come first."""
    where, page = {}, before + 1
    for body, first in bodies:
        where.update({number: page + k for number, k in first.items()})
        page += len(body)
    return where


def rows(results: dict) -> dict:
    """{row: its seeds' records} of a finished study."""
    return groups.by_row(planned(results))


def mean_of(runs: list[dict], measure: str) -> dict:
    return stats.interval(list(groups.per_seed(runs, measure).values()))
