"""Pure figure functions of the hand-in (questions 1-3, 6 and 7; the confusion matrix and kernel
grids, which the studies draw too, are in core/plotting.py; questions 8 and 9 in questions.py):
data in, a matplotlib Figure out."""

import numpy as np
from matplotlib.figure import Figure

from fmnist.core.plotting import GRAY, grid_shape, normalise, scale_bar
from fmnist.core.words import listing


def examples_figure(network: str, examples: dict) -> Figure:
    """Q1: one correctly and one incorrectly classified test image, in words."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, key, verdict, colour in zip(axes, ("correct", "wrong"), ("Correct", "Incorrect"),
                                        ("tab:green", "tab:red")):
        ex = examples[key]
        ax.imshow(np.asarray(ex["pixels"], dtype=np.uint8).reshape(28, 28), cmap=GRAY, vmin=0, vmax=255)
        ax.set_title(f"{verdict}  (test image #{ex['index']})\nPredicted: {ex['pred_name']} "
                     f"(softmax probability {100 * ex['confidence']:.0f}%)\nTrue: {ex['true_name']}", color=colour,
                     fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(network, fontsize=12)
    return fig


def training_loss_words(config: dict) -> str:
    """What the plotted training loss is, from the run's configuration: the loss the optimiser
    saw (label smoothing, mirrored images) against the validation loss's plain cross-entropy."""
    extras = ([f"label smoothing {config['label_smoothing']:g}"] if config.get("label_smoothing") else []) + (
        ["random mirroring"] if config.get("flip") else [])
    seen = ", ".join(extras) if extras else "plain cross-entropy, images as they are"
    return f"training loss: {seen}; validation loss: plain cross-entropy"


def loss_figure(network: str, history: dict, config: dict | None = None) -> Figure:
    """Q2: training loss per iteration (and its running mean), validation loss per epoch; the
    title says what the training loss includes, and how many early batches lie above the plot."""
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
    top = min(float(np.percentile(iters, 99.5)) * 1.1, 3.0) if len(iters) else 1.0
    above = np.nonzero(iters > top)[0]
    where = sorted({int(i // max(per_epoch, 1)) + 1 for i in above})
    clipped = (f"\n{len(above)} batch{'es' if len(above) != 1 else ''} of epoch{'s' if len(where) != 1 else ''} "
               f"{listing([str(e) for e in where])} lie above the plot, up to {iters.max():.2f}") if len(above) else ""
    ax.set_title(f"{network}: loss during training\n({training_loss_words(config or {})}){clipped}", fontsize=10)
    ax.set_ylim(0, top)
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
    fig.table_text = {"title": f"{network}: {params['total']:,} trainable parameters ({split})",  # a report's table
                      "columns": ["parameter tensor", "shape", "parameters"], "rows": rows, "notes": []}
    return fig


def responses_figure(image: np.ndarray, responses: np.ndarray, title: str, image_note: str) -> Figure:
    """Q6: the sample image beside the response of each kernel (K, H, W), each scaled to [0, 1]."""
    rows, cols = grid_shape(len(responses))
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
            shown = ax.imshow(normalise(responses[i]), cmap=GRAY, vmin=0, vmax=1)
            ax.set_title(f"kernel {i}", fontsize=8, pad=2)
    scale_bar(right, shown, axes, "0: the map's\nlowest response", "1: the map's\nhighest response")
    fig.suptitle(title, fontsize=12)
    return fig


def progression_figure(image: np.ndarray, stages: list, channels: int, image_note: str, reading: str = "") -> Figure:
    """Q7: the sample image, then the first `channels` channels of each stage's output, with a
    sentence reading them under the maps.

    `stages` is a list of (label, array (C, H, W)) in forward order."""
    cols = len(stages) + 1
    fig = Figure(figsize=(2.0 * cols, 2.2 * channels + 1.0), layout="constrained")
    axes = np.asarray(fig.subplots(channels, cols, squeeze=False))
    for row in range(channels):
        ax = axes[row, 0]
        ax.set_axis_off()
        if row == 0:
            ax.imshow(image, cmap=GRAY, vmin=-1, vmax=1)
            ax.set_title("input\n1x28x28", fontsize=8)
        for col, (label, maps) in enumerate(stages, start=1):
            ax = axes[row, col]
            ax.set_axis_off()
            if row < len(maps):
                shown = ax.imshow(normalise(maps[row]), cmap="viridis", vmin=0, vmax=1)
                shape = "x".join(map(str, maps.shape))  # no spaces: a title wrapped to its panel keeps it whole
                lo, hi = float(maps[row].min()), float(maps[row].max())
                values = " (constant)" if lo == hi else f": {lo:.2g} to {hi:.2g}"
                ax.set_title(f"{label}\n{shape}\nchannel {row}{values}" if row == 0 else f"channel {row}{values}",
                             fontsize=8)
    scale_bar(fig, shown, axes, "0: the map's\nlowest value", "1: the map's\nhighest value")
    if reading:
        fig.supxlabel(reading, fontsize=9, x=0.04, ha="left")  # the page wraps it
    fig.suptitle(f"Feature maps of the sample image ({image_note}) through the CNN, in forward order: each map "
                 "scaled to [0, 1] between its own lowest and highest value, which its title gives", fontsize=11)
    return fig
