"""What a report is made of, from what the other scripts wrote (it trains nothing): the sources
it reads, the items of a spec (number, question, what they need, their figures and the answer
computed from the runs) and the sentences several reports share. latex.py sets them as a
document.
"""
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from fmnist.core import files, stats
from fmnist.core.metrics import random_tap_correlation, tap_correlation
from fmnist.core.words import training_words
from fmnist.studies import groups
from fmnist.studies.study import planned

COMMANDS = {"metrics": "python fashionmnist.py", "analysis": "python analyze.py"}


@dataclass
class Sources:
    """What the other scripts wrote under one output folder (None: not there, or not finished)."""
    out_dir: Path
    metrics: dict | None = None
    analysis: dict | None = None
    studies: dict = field(default_factory=dict)
    drawn: dict = field(default_factory=dict)  # figures several items share, drawn once (spec001.drawn)

    def has(self, need: str) -> bool:
        if need in ("metrics", "analysis"):
            return bool(getattr(self, need))
        return bool(self.studies.get(need.split(":", 1)[1]))

    def png(self, relative: str) -> Path:
        return self.out_dir / relative


def study_figures(study, *stems: str) -> Callable:
    """An item's visuals: the named figures of a finished study, drawn again from its results (at
    the report's size, not the PNGs drawn for experiments.pdf's pages)."""
    def visuals(src: Sources) -> list[Figure]:
        drawn = {page.stem: page.fig for page in study.pages(src.studies[study.name])}
        return [drawn[s] for s in stems if s in drawn]
    return visuals


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
        f"  {groups.study_budget(results, records)}",
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


GAP_TIMES, GAP_LOSS = 2.0, 0.1  # a validation loss this many times the training loss at the best epoch and this
                                # far above it (cross-entropy): overfitting as a gap


def curve_words(history: list[dict], best_epoch: int) -> str:
    """A training run's loss curves read: where the validation loss bottomed out, what it did
    after, and the training loss beside it (overfitting when one rises as the other falls, or when
    the validation loss stays GAP_TIMES the training loss or more, and GAP_LOSS above it)."""
    val = [e["val_loss"] for e in history]
    train = [e["train_loss"] for e in history]
    low, last, up = val[best_epoch - 1], val[-1], rise(history, best_epoch)
    times = low / max(train[best_epoch - 1], 1e-12)
    if up > 0.1 and train[-1] < train[best_epoch - 1]:
        after = (f"then rises to {last:.3f} by epoch {len(val)} (+{100 * up:.0f} %) while the training loss falls from "
                 f"{train[best_epoch - 1]:.3f} to {train[-1]:.3f}: the network overfits after epoch {best_epoch}, and "
                 "early stopping keeps that epoch's weights")
    elif times >= GAP_TIMES and low - train[best_epoch - 1] >= GAP_LOSS:
        after = (f"and ends {last:.3f} at epoch {len(val)} ({100 * up:+.1f} %) without rising much, while the training "
                 f"loss goes on falling to {train[-1]:.3f}; at the best epoch the validation loss is {times:.1f} times "
                 "the training loss: the network fits its training images far better than unseen ones (overfitting "
                 "as a gap between the curves)")
    else:
        after = f"and ends {last:.3f} at epoch {len(val)} ({100 * up:+.1f} %): no clear overfitting in the epochs run"
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


PRECISION = {"bf16": "bfloat16 mixed precision", "fp16": "float16 mixed precision", "fp32": "32-bit floats"}


def handin_lines(src: Sources, with_cnn: bool = True, studies: bool = True) -> list[str]:
    """The data every report shares, what a study trains on (`studies`), and the hand-in CNN's
    training run where the report quotes it."""
    sizes = (src.metrics or {}).get("sizes") or {"train": 55000, "val": 5000, "test": 10000}
    lines = [
        f"Data: Fashion-MNIST (28x28 grey images of 10 kinds of clothing) from the local IDX files: "
        f"{sizes['train']:,} training and {sizes['val']:,} validation images (a fixed split of the 60,000, seed 0) "
        f"and the {sizes['test']:,} test images." + (" A study trains on a stratified subset of the training split "
                                                      "(its budget line says how many) and scores all its runs on the "
                                                      "same validation and test images." if studies else "")
    ]
    cnn = (src.metrics or {}).get("networks", {}).get("cnn")
    if cnn and with_cnn:
        precision = cnn["config"].get("precision", "fp32")
        lines.append(
            f"The hand-in CNN trained on all {sizes['train']:,} training images in {cnn['train_seconds']:.0f} s on "
            f"the {cnn.get('device', 'cpu').upper()} in {PRECISION.get(precision, precision)}, finished "
            f"{cnn.get('finished', '?')}; test accuracy {100 * cnn['test']['accuracy']:.2f}%."
        )
    return lines


def rows(results: dict) -> dict:
    """{row: its seeds' records} of a finished study."""
    return groups.by_row(planned(results))


def mean_of(runs: list[dict], measure: str) -> dict:
    return stats.interval(list(groups.per_seed(runs, measure).values()))


def convergence_words(runs: list[dict]) -> str:
    """How a row's seeds trained and whether each stopped by early stopping (converged)."""
    c = runs[0]["config"]
    done = [groups.converged(r) for r in runs]
    return (f"{len(runs)} seeds, {training_words(c)}; {groups.budget(runs)}; best epochs "
            f"{', '.join(str(r['best_epoch']) for r in runs)}. "
            + ("Every seed stopped by early stopping: its validation loss had not fallen for "
               f"{c['patience']} epochs, so it was trained to convergence." if all(done) else
               f"{done.count(False)} of {len(done)} seeds did not stop by early stopping ({groups.stopped(runs)}): "
               "not trained to convergence."))
