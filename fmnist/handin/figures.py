"""Pure figure functions of the hand-in (questions 1-3, 6-9; the confusion matrix and kernel
grids, which the studies draw too, are in core/plotting.py): data in, a matplotlib Figure out."""
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import offset_copy

from fmnist.core.pages import PAGE_INCHES as PAGE
from fmnist.core.pages import chunks
from fmnist.core.plotting import GRAY, grid_shape, normalise, scale_bar
from fmnist.core.words import listing

GAPPED = colormaps[GRAY].with_extremes(bad="white")  # gray, with white gaps between patches


def answer_text(text: str, width: int = 165) -> str:
    """An answer's points (one a line of `text`), each a bullet wrapped to `width` under its first word."""
    return "\n".join(textwrap.fill(p, width, initial_indent="\u2022 ", subsequent_indent="   ")
                     for p in text.split("\n") if p.strip())


def _answer(sub, text: str, question: str) -> None:
    """The question as the assignment asks it, then the answer computed from this run, each
    block set below the one before (in points, whatever the height of `sub`)."""
    blocks = [(textwrap.fill(question, 125), dict(fontsize=9.5, fontweight="bold")),
              ("Answer, every number and direction computed from this run's measurements:",
               dict(fontsize=9, style="italic")),
              (answer_text(text), dict(fontsize=8.6, linespacing=1.35))]
    down = 0.0
    for words, style in blocks:
        sub.text(0.01, 0.99, words, va="top", transform=offset_copy(sub.transSubfigure, fig=sub.figure, y=-down,
                                                                    units="points"), **style)
        down += (words.count("\n") + 1) * style["fontsize"] * style.get("linespacing", 1.2) * 1.05 + 8


def _table(ax, rows: list[list[str]], header: list[str], widths: list[float], title: str, fontsize=8.5) -> None:
    ax.axis("off")
    cells = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="right", colLoc="right",
                     colWidths=widths)
    cells.auto_set_font_size(False)
    cells.set_fontsize(fontsize)
    cells.scale(1, 1.3)
    for col in range(len(header)):
        cells[0, col].set_text_props(fontweight="bold")
        cells[0, col].set_facecolor("#eeeeee")
    ax.set_title(title, fontsize=10)


def q8_gains_figure(q8: dict, answer: str, question: str) -> Figure:
    """Per-class accuracy, CNN minus FFN; the networks side by side; what weight sharing saves."""
    fig = Figure(figsize=PAGE, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.15, 1])
    left, right = top.subfigures(1, 2, width_ratios=[1, 1.25])
    ax = left.subplots()
    rows = q8["classes"][::-1]  # the largest gain on top
    points = [r["points"] for r in rows]
    ax.barh(range(len(rows)), points, color=["tab:blue" if p >= 0 else "tab:red" for p in points])
    for i, (r, p) in enumerate(zip(rows, points)):  # right of the bar, or right of 0 for a loss
        ax.annotate(f"{r['gained_images']:+d} images", (max(p, 0), i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r['class']}\n{r['ffn']:.1f}% -> {r['cnn']:.1f}%" for r in rows], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("test accuracy of the class: CNN minus FFN (points)")
    ax.set_xlim(min(0, min(points)) - 1, max(0, max(points)) * 1.35 + 1)
    ax.grid(axis="x", alpha=0.3)
    legs = ([f"gains (blue) on {sum(p > 0 for p in points)}"] if any(p > 0 for p in points) else []) + \
        ([f"loses (red) on {sum(p < 0 for p in points)}"] if any(p < 0 for p in points) else [])
    ax.set_title(f"Where the CNN {' and '.join(legs) or 'neither gains nor loses'} of {len(points)} classes\n"
                 f"labels: FFN -> CNN accuracy\non the class's {rows[0]['images']:,} test images", fontsize=10)
    # three lines: two ran past the axes into the table beside them
    upper, lower = right.subplots(2, 1, height_ratios=[1, 2.2])
    nets = q8["networks"]
    _table(upper, [[n.upper(), f"{v['parameters']:,}", f"{v['accuracy']:.2f}%", f"{v['loss']:.4f}"]
                   for n, v in nets.items()], ["network", "parameters", "test accuracy", "test loss"],
           [0.2, 0.26, 0.27, 0.22], "Side by side (10,000 test images)")
    share = q8["weight_sharing"]
    shape = lambda s: "x".join(map(str, s))  # noqa: E731
    _table(lower, [[r["layer"], shape(r["kernel"]), f"{shape(r['input'])} -> {shape(r['output'])}", f"{r['shared']:,}",
                    f"{r['local']:,}", f"{r['dense']:,}"] for r in share],
           ["layer", "kernel", "input -> output", "shared", "per position", "dense"],
           [0.1, 0.1, 0.3, 0.16, 0.17, 0.17],
           textwrap.fill("Parameters for the same outputs: the convolution shares each kernel over all positions "
                         "(shared); a locally connected layer has one kernel per position (per position); a fully "
                         "connected layer links every input value to every output value (dense)"
                         + ("" if any(r["bias"] for r in share) else " (no biases: batch norm follows)"), 75),
           fontsize=8)
    _answer(bottom, answer, question)
    return fig


def q8_why_figure(q8: dict, shifted: list[np.ndarray], locality: dict | None, locality_note: str,
                  shift_note: str = "") -> Figure:
    """Accuracy against shift for both networks, an image moved right by each shift
    (`shifted`, one per shift), and the locality study's result."""
    t = q8["translation"]
    fig = Figure(figsize=PAGE, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 2.2])
    for ax, s, image in zip(np.atleast_1d(top.subplots(1, len(t["shifts"]))), t["shifts"], shifted):
        ax.imshow(image, cmap=GRAY, vmin=-1, vmax=1)
        ax.set_title(f"moved {s} px right", fontsize=9)
        ax.set_axis_off()
    top.suptitle(f"A test image moved right; the uncovered border is filled with {t['fill']:g}, the black "
                 "background (0 would be a grey bar no training image has)", fontsize=9)
    curve, study = bottom.subplots(1, 2)
    accs = {key: 100 * np.asarray(t["accuracy"][key]) for key in ("ffn", "cnn")}
    for key, colour in (("ffn", "tab:orange"), ("cnn", "tab:blue")):
        acc, other = accs[key], accs["cnn" if key == "ffn" else "ffn"]
        curve.plot(t["shifts"], acc, "o-", color=colour, label=key.upper())
        for s, a, b in zip(t["shifts"], acc, other):
            # the higher point's label up and right of it, the lower's down and left: a falling line
            # leaves both corners clear (it comes in from the upper left and leaves to the lower right)
            above = a > b or (a == b and key == "cnn")
            curve.annotate(f"{a:.1f}", (s, a), textcoords="offset points", xytext=(5, 5) if above else (-5, -6),
                           ha="left" if above else "right", va="bottom" if above else "top", fontsize=8,
                           color=colour)
    curve.margins(y=0.12)  # the top and bottom labels clear of the frame
    curve.set_xticks(t["shifts"])
    curve.set_xlim(min(t["shifts"]) - 0.5, max(t["shifts"]) + 0.5)  # room for the first and last points' labels
    curve.set_xlabel("pixels moved (mean of right, left, down and up)"
                     + ("\n\n" + textwrap.fill(shift_note, 80) if shift_note else ""), fontsize=9)
    curve.set_ylabel("test accuracy (%)")
    curve.grid(alpha=0.3)
    curve.legend()
    curve.set_title(f"Translation: accuracy on {t['images']:,} test images (100 per class) moved 0-{max(t['shifts'])} "
                    "pixels", fontsize=10)
    if locality:
        # Means with their intervals as markers, not bars: the axis is zoomed to the values, and a bar
        # would claim a zero it does not show. Colours of their own: blue and orange are the networks.
        looks = {"images": ("original images", "black", "s"), "scrambled": ("scrambled pixels", "tab:purple", "D")}
        values = []
        for k, (_net, c) in enumerate(locality.items()):
            for j, pixels in enumerate(("images", "scrambled")):
                label, colour, marker = looks[pixels]
                mean, half = c[pixels]["mean"], c[pixels]["half_width"] or 0
                seeds = c["per_seed"][pixels]
                values += list(seeds) + [mean - half, mean + half]
                study.scatter([3 * k + j] * len(seeds), seeds, color="0.6", s=12, zorder=2)
                study.errorbar(3 * k + j, mean, yerr=half, fmt=marker, color=colour, capsize=5, markersize=7,
                               zorder=3, label=label if k == 0 else None)
                study.annotate(f"{mean:.2f}", (3 * k + j, mean), textcoords="offset points", xytext=(9, -3),
                               fontsize=8, color=colour)
        study.set_xticks([3 * k + 0.5 for k in range(len(locality))], [c["label"] for c in locality.values()])
        study.set_xlim(-0.8, 3 * len(locality) - 1.2)
        study.set_ylim(min(values) - 0.5, max(values) + 0.5)
        study.set_ylabel("test accuracy (%)")
        study.legend(fontsize=8, loc="best")
        study.grid(axis="y", alpha=0.3)
    else:
        study.axis("off")
    study.set_title("Locality: trained on images and on scrambled pixels\n" + textwrap.fill(locality_note, 70),
                    fontsize=9)
    return fig


def q9_stages_figure(q9: dict, answer: str, question: str) -> Figure:
    """The stage table and the probe, purity and sparsity curves, with the answer."""
    fig = Figure(figsize=PAGE, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 1])
    left, right = top.subplots(1, 2, width_ratios=[1.25, 1])
    rows = q9["stages"]
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    _table(left, [[r["stage"], " x ".join(map(str, r["shape"])), f"{r['values']:,}",
                   f"{r['receptive_field']}x{r['receptive_field']}", pct(r["zeros"]), pct(r["probe"]), pct(r["purity"])]
                  for r in rows], ["stage", "shape", "values", "field (px)", "zeros", "linear probe", "class purity"],
           [0.13, 0.17, 0.1, 0.14, 0.12, 0.17, 0.17],
           "Each stage of the CNN (conv stages after pool, batch norm and ReLU)")
    s = q9["sizes"]
    left.text(
        0.0,
        0.5,
        textwrap.fill(
            f"values: the numbers the stage passes on per image (channels x height x width). "
            "field: the receptive field, the input pixels that one value depends on (from kernel sizes, strides and "
            "pools). zeros: share "
            f"of the stage's values that are 0 on {s['probe_test']:,} test images. linear probe: test accuracy of a "
            f"logistic regression on the stage's values ({s['probe_train']:,} training images, {s['probe_test']:,} "
            "test "
            f"images, 100 per class, standardised). class purity: per channel, the share of its {s['purity_top']} most "
            f"exciting test images that come from one class, averaged over live channels"
            + (f" ({100 * s['purity_chance']:.0f}% for random responses)." if s.get("purity_chance") else "."),
            80,
        ),
        fontsize=8,
        va="top",
        transform=left.transAxes,
    )
    x = np.arange(len(rows))
    for key, label, style in (("probe", "linear probe accuracy", "o-"), ("purity", "class purity of top images", "s--"),
                              ("zeros", "zeros (sparsity)", "^:")):
        values = [np.nan if r[key] is None else 100 * r[key] for r in rows]
        right.plot(x, values, style, label=label)
    short = {"input": "pixels", "relu_fc1": "fc1"}
    right.set_xticks(x, [f"{short.get(r['stage'], r['stage'].replace('relu', 'conv '))}\nfield {r['receptive_field']}"
                         for r in rows], fontsize=8)
    right.set_ylabel("accuracy, purity or share of zeros (%)")
    right.set_ylim(0, 100)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    right.set_title("From pixels to the hidden layer", fontsize=10)
    _answer(bottom, answer, question)
    return fig


PATCH_ROWS = 6  # channels at most per page of question 9's patches


def q9_patches_figures(q9: dict, readings: dict | None = None) -> list[Figure]:
    """For each conv stage, a few channels and the test-image patches that excite them most:
    one row per channel, each patch framed, the row's reading (`readings`, (stage, channel) ->
    words) to its right, at most PATCH_ROWS rows to a page and a stage on one page where it fits
    (a fixed layout: with one axes per patch the layout solver and the drawing would cost a
    second more)."""
    readings = readings or {}
    lines = [(st, ch) for st in q9["patches"] for ch in st["channels"]]
    cols = max(len(ch["patches"]) for _, ch in lines)
    width, height = PAGE
    pages = [[]]
    for st in q9["patches"]:  # a stage's rows kept on one page, unless they fill more than one
        rows = [(st, ch) for ch in st["channels"]]
        if pages[-1] and len(pages[-1]) + len(rows) > PATCH_ROWS:
            pages.append([])
        pages[-1] += rows
    figs = []
    for chunk in [part for stage in pages for part in chunks(stage, PATCH_ROWS)]:
        fig = Figure(figsize=PAGE)
        grid = fig.add_gridspec(max(len(chunk), PATCH_ROWS - 2), 1, left=1.3 / width, right=1 - 2.6 / width,
                                bottom=0.4 / height, top=1 - 1.9 / height, hspace=0.5)
        for r, (st, ch) in enumerate(chunk):
            size, gap = st["receptive_field"], max(1, st["receptive_field"] // 4)
            mosaic = np.full((size, cols * (size + gap) - gap), np.nan)
            ax = fig.add_subplot(grid[r])
            for j, p in enumerate(ch["patches"]):
                left = j * (size + gap)
                mosaic[:, left:left + size] = np.asarray(p["pixels"], dtype=float).reshape(size, size)
                ax.add_patch(Rectangle((left - 0.5, -0.5), size, size, fill=False, edgecolor="#1f4e9a", lw=1.2))
                ax.text(left + size / 2 - 0.5, -0.9, f"{p['class']} {p['activation']:.1f}", ha="center",
                        va="bottom", fontsize=8)
            ax.imshow(np.ma.masked_invalid(mosaic), cmap=GAPPED, vmin=0, vmax=255, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_frame_on(False)
            ax.set_ylabel(f"{st['stage']}\nch {ch['channel']}\n{size}x{size} px", fontsize=9, rotation=0,
                          ha="right", va="center")
            ax.text(1.03, 0.5, readings.get((st["stage"], ch["channel"]), ""), transform=ax.transAxes, fontsize=8,
                    va="center", ha="left")
        fig.suptitle(  # the page wraps it
            "What each conv stage detects: per stage, the channels with the highest mean strongest response on "
            f"{q9['sizes']['probe_test']:,} test images; for each, the test images that excite it most, cropped to "
            "the stage's receptive field around the strongest position (above each framed patch: the image's "
            "class and the channel's response; black beyond the image's edge); right of each row, measured over the "
            "test images: the region of the garment the channel favours, its patches' edges and how many of them come "
            "from one class", fontsize=9, y=1 - 0.35 / height,
            va="top")
        figs.append(fig)
    return figs


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
            ax.set_title(f"input\n1 x 28 x 28\n{textwrap.fill(image_note, 22)}", fontsize=8)
        for col, (label, maps) in enumerate(stages, start=1):
            ax = axes[row, col]
            ax.set_axis_off()
            if row < len(maps):
                shown = ax.imshow(normalise(maps[row]), cmap="viridis", vmin=0, vmax=1)
                shape = " x ".join(map(str, maps.shape))
                lo, hi = float(maps[row].min()), float(maps[row].max())
                values = " (constant)" if lo == hi else f": {lo:.2g} to {hi:.2g}"
                ax.set_title(f"{label}\n{shape}\nchannel {row}{values}" if row == 0 else f"channel {row}{values}",
                             fontsize=8)
    scale_bar(fig, shown, axes, "0: the map's\nlowest value", "1: the map's\nhighest value")
    if reading:
        fig.supxlabel(reading, fontsize=9, x=0.04, ha="left")  # the page wraps it
    fig.suptitle("Feature maps of the sample image through the CNN, in forward order: each map scaled to [0, 1] "
                 "between its own lowest and highest value, which its title gives", fontsize=11)
    return fig
