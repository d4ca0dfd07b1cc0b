"""Pure plotting functions: data in, a matplotlib Figure out (object-oriented API only)."""
import functools
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

GRAY = "gray"

# The hand-in's pages (questions 1-9) set their titles at the top of their axes instead of
# letting matplotlib look for x tick labels above each axes to move the title over: no page
# has any, so the pixels are the same (tests/test_pipeline.py compares them), and the
# search was a fifth of their drawing time (2.3 s of 12 for the 16 pages on 2 cores).
# Not for every figure: image grids elsewhere get their titles nudged up a little by it.
fixed_titles = functools.partial(matplotlib.rc_context, {"axes.titley": 1.0})


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid for n panels (wider than tall)."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def examples_figure(network: str, examples: dict) -> Figure:
    """Q1: one correctly and one incorrectly classified test image, in words."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, verdict, colour in zip(axes, ("correct", "wrong"), ("Correct", "Incorrect"),
                                        ("tab:green", "tab:red")):
        ex = examples[key]
        ax.imshow(np.asarray(ex["pixels"], dtype=np.uint8).reshape(28, 28), cmap=GRAY, vmin=0, vmax=255)
        ax.set_title(f"{verdict}  (test image #{ex['index']})\nPredicted: {ex['pred_name']} "
                     f"({100 * ex['confidence']:.0f}%)\nTrue: {ex['true_name']}", color=colour, fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(network, fontsize=12)
    return fig


def loss_figure(network: str, history: dict) -> Figure:
    """Q2: training loss per iteration (and its running mean), validation loss per epoch."""
    iters = np.asarray(history["iterations"], dtype=float)
    epochs = history["epochs"]
    per_epoch = len(iters) / max(1, len(epochs))
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    x = np.arange(1, len(iters) + 1)
    ax.plot(x, iters, color="tab:blue", alpha=0.25, lw=0.8, label="training loss (each batch)")
    window = max(1, int(per_epoch // 4))
    if len(iters) >= window:
        smooth = np.convolve(iters, np.ones(window) / window, mode="valid")
        ax.plot(x[window - 1:], smooth, color="tab:blue", lw=1.8,
                label=f"training loss (mean of {window} batches)")
    ax.plot([e["epoch"] * per_epoch for e in epochs], [e["val_loss"] for e in epochs], "o-",
            color="tab:orange", lw=1.8, label="validation loss (end of each epoch)")
    best = history["best_epoch"]
    ax.axvline(best * per_epoch, color="gray", ls=":", label=f"weights kept: epoch {best}")
    ax.set_xlabel(f"iteration (batch); {per_epoch:.0f} per epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.set_title(f"{network}: loss during training\n(training loss includes label smoothing "
                 "and augmentation; validation loss is plain cross-entropy)", fontsize=11)
    ax.set_ylim(0, min(float(np.percentile(iters, 99.5)) * 1.1, 3.0) if len(iters) else 1)
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def params_figure(network: str, params: dict) -> Figure:
    """Q3: the number of parameters, per layer and in total, as a readable table."""
    rows = [[name, " x ".join(map(str, shape)), f"{count:,}"] for name, shape, count in params["layers"]]
    rows.append(["Total", "", f"{params['total']:,}"])
    fig = Figure(figsize=(7, 0.9 + 0.32 * len(rows)), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    table = ax.table(cellText=rows, colLabels=["parameter tensor", "shape", "parameters"],
                     loc="center", cellLoc="left", colLoc="left", colWidths=[0.42, 0.3, 0.28])
    table.auto_set_font_size(False)
    table.set_fontsize(10)
    table.scale(1, 1.25)
    for col in range(3):
        table[len(rows), col].set_text_props(fontweight="bold")
        table[0, col].set_text_props(fontweight="bold")
    split = ", ".join(f"{kind}: {n:,}" for kind, n in params["by_kind"].items())
    ax.set_title(f"{network}: {params['total']:,} trainable parameters\n({split})", fontsize=12)
    return fig


def confusion_figure(network: str, confusion: np.ndarray, classes) -> Figure:
    """Q4: test-set confusion matrix, as counts and normalised by true class."""
    confusion = np.asarray(confusion)
    fig = Figure(figsize=(16, 7), layout="constrained")
    axes = fig.subplots(1, 2)
    rates = confusion / confusion.sum(axis=1, keepdims=True).clip(min=1)
    for ax, values, fmt, title in ((axes[0], confusion, "d", "counts"),
                                   (axes[1], rates, ".2f", "fraction of each true class (rows sum to 1)")):
        sns.heatmap(values, annot=True, fmt=fmt, cmap="Blues", square=True, cbar=True, ax=ax,
                    xticklabels=classes, yticklabels=classes, annot_kws={"fontsize": 8})
        ax.set_xlabel("Predicted class")
        ax.set_ylabel("True class")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=45)
        ax.tick_params(axis="y", rotation=0)
    accuracy = np.trace(confusion) / max(1, confusion.sum())
    fig.suptitle(f"{network}: confusion matrix on the {confusion.sum():,} test images "
                 f"(accuracy {100 * accuracy:.2f}%)", fontsize=13)
    return fig


def text_figure(title: str, lines: list[str]) -> Figure:
    """A page of text (the PDF's summary), set in a fixed-width font so columns line up."""
    fig = Figure(figsize=(8.5, 11))
    fig.text(0.07, 0.95, title, fontsize=16, fontweight="bold", va="top")
    fig.text(0.07, 0.91, "\n".join(lines), fontsize=9.5, family="monospace", va="top", linespacing=1.5)
    return fig


def _normalise(a: np.ndarray) -> np.ndarray:
    """Scale one array to [0, 1] (a constant array becomes 0.5)."""
    lo, hi = float(a.min()), float(a.max())
    return np.full_like(a, 0.5, dtype=float) if hi == lo else (a - lo) / (hi - lo)


def kernel_grid_figure(kernels: np.ndarray, title: str) -> Figure:
    """Q5: each kernel (K, kh, kw) normalised to [0, 1] on its own, in a near-square grid.

    A fixed grid rather than constrained layout: with a hundred panels the layout solver
    would cost more than the drawing."""
    rows, cols = _grid(len(kernels))
    width, height, top = 1.0 * cols + 1.8, 1.05 * rows + 1.0, 0.9  # inches; top: room for the titles
    fig = Figure(figsize=(width, height))
    grid = fig.add_gridspec(rows, cols, left=0.2 / width, right=1 - 1.6 / width, bottom=0.1 / height,
                            top=1 - top / height, wspace=0.12, hspace=0.3)
    for i in range(rows * cols):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        ax.set_axis_off()
        if i < len(kernels):
            image = ax.imshow(_normalise(kernels[i]), cmap=GRAY, vmin=0, vmax=1)
            ax.set_title(str(i), fontsize=8, pad=2)
    bar = fig.colorbar(image, cax=fig.add_axes([1 - 1.35 / width, 0.25, 0.18 / width, 0.5]), ticks=[0, 1])
    bar.ax.set_yticklabels(["0: most negative\nweight", "1: most positive\nweight"], fontsize=8)
    fig.suptitle(title, fontsize=12, y=1 - 0.08 / height, va="top")
    return fig


def responses_figure(image: np.ndarray, responses: np.ndarray, title: str, image_note: str) -> Figure:
    """Q6: the sample image beside the response of each kernel (K, H, W), each scaled to [0, 1]."""
    rows, cols = _grid(len(responses))
    fig = Figure(figsize=(1.3 * cols + 3.2, 1.3 * rows + 1.0), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.3 * cols / 2.4])
    ax = left.subplots()
    ax.imshow(image, cmap=GRAY, vmin=-1, vmax=1)
    ax.set_title(f"sample image\n{image_note}", fontsize=9)
    ax.set_axis_off()
    axes = np.atleast_1d(right.subplots(rows, cols)).ravel()
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i < len(responses):
            ax.imshow(_normalise(responses[i]), cmap=GRAY, vmin=0, vmax=1)
            ax.set_title(f"kernel {i}", fontsize=7, pad=2)
    fig.suptitle(title, fontsize=12)
    return fig


def progression_figure(image: np.ndarray, stages: list, channels: int, image_note: str) -> Figure:
    """Q7: the sample image, then the first `channels` channels of each stage's output.

    `stages` is a list of (label, array (C, H, W)) in forward order."""
    cols = len(stages) + 1
    fig = Figure(figsize=(2.0 * cols, 2.2 * channels + 1.0), layout="constrained")
    axes = np.asarray(fig.subplots(channels, cols, squeeze=False))
    for row in range(channels):
        ax = axes[row, 0]
        ax.set_axis_off()
        if row == 0:
            ax.imshow(image, cmap=GRAY, vmin=-1, vmax=1)
            ax.set_title(f"input\n1 x 28 x 28\n{image_note}", fontsize=8)
        for col, (label, maps) in enumerate(stages, start=1):
            ax = axes[row, col]
            ax.set_axis_off()
            if row < len(maps):
                ax.imshow(_normalise(maps[row]), cmap="viridis", vmin=0, vmax=1)
                shape = " x ".join(map(str, maps.shape))
                flat = " (constant)" if maps[row].min() == maps[row].max() else ""
                ax.set_title(f"{label}\n{shape}\nchannel {row}{flat}" if row == 0 else f"channel {row}{flat}",
                             fontsize=8)
    fig.suptitle("Feature maps of the sample image through the CNN, in forward order "
                 "(each map scaled to [0, 1]: dark = low, yellow = high)", fontsize=11)
    return fig


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
            ax.annotate(label, (s, mean), xytext=(6, -10 - 9 * k), textcoords="offset points", fontsize=7, color=f"C{k}")
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
