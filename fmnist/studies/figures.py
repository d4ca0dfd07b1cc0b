"""Pure figure functions of experiments.py: data in, a matplotlib Figure out."""
import math
import textwrap

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, LogLocator, MaxNLocator, NullFormatter

from fmnist.core import stats
from fmnist.core.pages import PAGE_INCHES
from fmnist.core.plotting import grid_shape, scale_bar


def curves_figure(title: str, histories: dict) -> Figure:
    """Loss and accuracy per epoch, training and validation, for a few runs (name -> epochs)."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    fig.column_inches = 4.2  # in a report: two panels at half the text's width, their legends inside
    loss_ax, acc_ax = fig.subplots(1, 2)
    for k, (name, epochs) in enumerate(histories.items()):
        colour = f"C{k}"
        x = [e["epoch"] for e in epochs]
        loss_ax.plot(x, [e["train_loss"] for e in epochs], "--", color=colour, label=f"{name}: training")
        loss_ax.plot(x, [e["val_loss"] for e in epochs], "o-", color=colour, label=f"{name}: validation")
        acc_ax.plot(x, [100 * e["train_acc"] for e in epochs], "--", color=colour, label=f"{name}: training")
        acc_ax.plot(x, [100 * e["val_acc"] for e in epochs], "o-", color=colour, label=f"{name}: validation")
    loss_axis(loss_ax, [e[k] for epochs in histories.values() for e in epochs for k in ("train_loss", "val_loss")],
              "cross-entropy loss")
    acc_ax.set_ylabel("accuracy (%)")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}.\nTraining: mean over the epoch in training mode (with the run's augmentation and any "
                 "dropout); validation: the end-of-epoch weights in evaluation mode.", fontsize=10)
    return fig


def log_ticks(values) -> tuple:
    """Where a log axis over `values` puts its labelled ticks in each decade: 1, 2 and 5 over up to
    two decades, 1 alone over more (small panels would have their labels collide)."""
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    return (1, 2, 5) if not finite or math.log10(max(finite) / min(finite)) <= 2 else (1,)


def small_multiples_figure(title: str, runs: dict, best: str | None) -> Figure:
    """Training and validation loss per epoch, one panel per run (name -> epochs), shared axes."""
    rows, cols = grid_shape(len(runs))
    width, height = PAGE_INCHES
    fig = Figure(figsize=(width, height))  # a fixed layout: the layout solver would cost seconds here
    axes = np.asarray(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    fig.subplots_adjust(left=1.1 / width, right=1 - 0.4 / width, bottom=0.8 / height, top=1 - 1.5 / height,
                        wspace=0.08, hspace=0.6)
    finite = [v for epochs in runs.values() for e in epochs for v in (e["train_loss"], e["val_loss"])
              if v is not None and math.isfinite(v) and v > 0]
    subs = log_ticks(finite)
    for ax, (name, epochs) in zip(axes, runs.items()):
        x = [e["epoch"] for e in epochs]
        ax.plot(x, [e["train_loss"] for e in epochs], "--", color="tab:blue", label="training")
        ax.plot(x, [e["val_loss"] for e in epochs], "o-", color="tab:orange", ms=3, label="validation")
        ax.set_title(name + ("\n(lowest val loss)" if name == best else ""), fontsize=9,
                     fontweight="bold" if name == best else "normal")
        ax.grid(alpha=0.3)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=subs))  # 0.2, 0.5, 1, 2: plain numbers, no 10^x
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
        ax.xaxis.set_tick_params(labelbottom=True)  # every panel says its epochs
        if not epochs:
            ax.text(0.5, 0.5, "diverged", ha="center", transform=ax.transAxes, color="tab:red")
    for ax in axes[len(runs):]:
        ax.set_axis_off()
    if finite:
        axes[0].set_ylim(min(finite) * 0.9, max(finite) * 1.1)
    axes[0].legend(fontsize=8)
    fig.supxlabel("epoch", y=0.35 / height)
    fig.supylabel("cross-entropy loss (log scale)", x=0.35 / width)
    fig.suptitle(title, fontsize=11, y=1 - 0.35 / height, va="top")
    return fig


def filters_figure(filters: dict[str, dict]) -> Figure:
    """Each network's last conv layer, a row each: a grid of 3x3 kernels (rows: output channels,
    columns: input channels, or one row of depthwise kernels), plus a 1x1 pointwise matrix if any.
    Drawn for a report's column; a page lays it out again at its own size."""
    tall = [3.0 if f.get("pointwise") is None else 3.6 for f in filters.values()]  # a pointwise matrix beside
    fig = Figure(figsize=(6.7, sum(tall)), layout="constrained")
    fig.column_inches = sum(tall)
    rows = fig.subfigures(len(filters), 1, height_ratios=tall)
    for row, (network, f) in zip(np.atleast_1d(rows), filters.items()):
        _filters(row, f)
        row.suptitle(network, fontsize=10, fontweight="bold")
    fig.suptitle("Filters of the last conv layer (red positive, blue negative, white 0; one scale per panel)",
                 fontsize=11)
    return fig


def _filters(fig, filters: dict) -> None:
    kernels = np.asarray(filters["kernels"], dtype=float)    # (R, C, 3, 3)
    pointwise = filters.get("pointwise")
    left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1]) if pointwise is not None else (fig, None)
    r, c = kernels.shape[:2]  # 3x3 tiles with a 1-pixel gap
    mosaic = np.pad(kernels, ((0, 0), (0, 0), (0, 1), (0, 1)), constant_values=np.nan)
    ax = _weights(left, mosaic.transpose(0, 2, 1, 3).reshape(4 * r, 4 * c)[:-1, :-1], filters["columns"],
                  filters["rows"], textwrap.fill(filters["kernels_label"], 38))
    ax.set_xticks(4 * np.arange(c) + 1, [str(j) for j in range(c)], fontsize=7)
    ax.set_yticks(4 * np.arange(r) + 1, [str(i) for i in range(r)], fontsize=7)
    if pointwise is not None:
        _weights(right, np.asarray(pointwise), "input channel", "output channel",
                 textwrap.fill(filters["pointwise_label"], 24))


def _weights(fig, weights: np.ndarray, xlabel: str, ylabel: str, title: str):
    """Weights on one symmetric colour scale (red positive, blue negative, white 0), with its bar."""
    lim = float(np.nanmax(np.abs(weights))) or 1.0
    ax = fig.subplots()
    image = ax.imshow(weights, cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.6, label="weight")
    return ax


def cost_ratio_figure(layers: list[dict]) -> Figure:
    """Per layer shape: a depthwise-separable block's cost relative to a standard block, in
    theory (1/N + 1/9), in counted FLOPs and in measured time on this machine."""
    fig = Figure(figsize=(11, 5), layout="constrained")
    fig.column_inches = 4.0  # in a report: one bar chart at the text's width
    ax = fig.subplots()
    x = np.arange(len(layers))
    for k, (key, label) in enumerate((("theory", "theory: 1/N + 1/9"), ("flops", "counted FLOPs"),
                                      ("time", "measured time (forward + backward)"))):
        values = [layer[key] for layer in layers]
        bars = ax.bar(x + (k - 1) * 0.27, values, 0.27, label=label)
        ax.bar_label(bars, [f"{v:.2f}" for v in values], fontsize=7)
    ax.axhline(1, color="gray", ls=":", lw=1)
    ax.set_xticks(x, [f"{layer['in']} -> {layer['out']} ch\n{layer['side']}x{layer['side']} out" for layer in layers],
                  fontsize=8)
    ax.set_ylabel("depthwise-separable / standard")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("Cost of a MobileNet block relative to a standard 3x3 block with the same input and output "
                 "(below 1: cheaper)\nFLOPs: torch.utils.flop_counter on the convolutions; time: median of repeated "
                 "passes of the whole block (conv, batch norm, ReLU) on a batch", fontsize=10)
    return fig


def sweep_figure(title: str, metrics: list[tuple[str, dict]]) -> Figure:
    """One panel per metric against the fraction of labelled data, a line per start: the mean
    over seeds, bars from the lowest to the highest seed, each seed a dot. A few fractions spread
    over decades go on a log scale; many evenly spaced ones (spec 004's 5, 10, ..., 100 %) on a
    linear one, every other labelled. `metrics`: (label, {start: {fraction %: [value per seed]}})."""
    fig = Figure(figsize=(12, 4.8), layout="constrained")  # narrow enough to stay one row in a report's column
    axes = fig.subplots(1, len(metrics))
    every = sorted({f for _, series in metrics for values in series.values() for f in values})
    linear = len(every) > 6
    for ax, (label, series) in zip(axes, metrics):
        for k, (start, values) in enumerate(series.items()):
            fractions = sorted(values)
            means = np.array([np.mean(values[f]) for f in fractions])
            low = means - np.array([min(values[f]) for f in fractions])
            high = np.array([max(values[f]) for f in fractions]) - means
            side = 2 * k - 1  # side by side, so the bars do not hide each other
            x = np.array(fractions) + 0.6 * side if linear else np.array(fractions) * (1 + 0.02 * side)
            ax.errorbar(x, means, yerr=[low, high], fmt="o-", capsize=4, color=f"C{k}",
                        label=f"{start} start")
            for f, xf in zip(fractions, x):
                ax.scatter([xf] * len(values[f]), values[f], s=10, color=f"C{k}", alpha=0.5, zorder=3)
        if not linear:
            ax.set_xscale("log")
        ticks = (every[3::4] if len(every) > 12 else every[1::2]) if linear else every
        ax.set_xticks(ticks, [f"{f:g}" for f in ticks], fontsize=8)
        ax.minorticks_off()
        ax.set_title(label, fontsize=11)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="upper left")  # the title or caption says what the dots and bars are
    fig.supxlabel(f"labelled Fashion-MNIST-1 training images used (%{'' if linear else ', log scale'})", fontsize=10)
    fig.suptitle(title, fontsize=11)
    return fig


def reconstructions_figure(history: list[dict], examples: dict) -> Figure:
    """The autoencoder's loss per epoch above, for each half side by side, a test image of each
    class over its reconstruction."""
    halves = list(examples.items())
    fig = Figure(figsize=(8, 5.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 0.72])
    ax = top.subplots()
    epochs = [e["epoch"] for e in history]
    ax.plot(epochs, [e["train_loss"] for e in history], "o--", ms=3, label="training (mean over the epoch)")
    ax.plot(epochs, [e["val_loss"] for e in history], "o-", ms=3, label="held-out Fashion-MNIST-1 validation images")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean squared error\n(pixels in [-1, 1])")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("autoencoder loss per epoch", fontsize=10)
    for part, (name, e) in zip(np.atleast_1d(bottom.subfigures(1, len(halves))), halves):
        seen = "held out" if e.get("held_out") else "in its training pool"  # 004 trains on Fashion-MNIST-2's test set
        axes = np.asarray(part.subplots(2, len(e["images"]), squeeze=False))
        for r, key in enumerate(("images", "reconstructions")):
            for j, pixels in enumerate(e[key]):
                a = axes[r, j]
                a.imshow(np.asarray(pixels), cmap="gray", vmin=-1, vmax=1)
                a.set_axis_off()
                if r == 0:
                    a.set_title(e["classes"][j], fontsize=8, pad=2)
        part.suptitle(f"{name} ({seen}): MSE {e['test_mse']:.4f}", fontsize=9)
    bottom.suptitle("one test image of each class above its reconstruction (MSE: over each half's test images)",
                    fontsize=9)
    fig.suptitle("Convolutional autoencoder (spec 004 3.4): mean squared error per epoch, and reconstructions",
                 fontsize=11)
    fig.column_inches = 4.4  # in a report: the curve and one row of each half's images
    return fig


def locality_figure(comparisons: dict, example: dict, verdicts: list[str]) -> Figure:
    """Test accuracy of each network on the images and on scrambled pixels: a dot per seed and
    the mean with its 95 % interval; beside it, one test image before and after scrambling."""
    fig = Figure(figsize=(12, 5.6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1, 2.4])
    for ax, key, title in zip(left.subplots(2, 1), ("images", "scrambled"),
                              ("a test image", "the same image, pixels scrambled")):
        ax.imshow(np.asarray(example[key]), cmap="gray", vmin=-1, vmax=1)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    axes = np.atleast_1d(right.subplots(1, len(comparisons)))
    for ax, (_net, c) in zip(axes, comparisons.items()):
        for k, pixels in enumerate(("images", "scrambled")):
            values, summary = c["per_seed"][pixels], c[pixels]
            ax.scatter(
                [k] * len(values), values, color=f"C{k}", alpha=0.6, zorder=3, label="one seed" if k == 0 else None
            )
            half = summary["half_width"] or 0
            ax.errorbar([k + 0.15], [summary["mean"]], yerr=[[half], [half]], fmt="s", color="black", capsize=5,
                        label="mean, 95 % CI" if k == 0 else None)
            ax.annotate(f"{summary['mean']:.2f}%", (k + 0.22, summary["mean"]), fontsize=9, va="center")
        d = c["difference"]
        ci = f"{d['low']:+.2f} to {d['high']:+.2f}" if d["low"] is not None else "one seed: no interval"
        ax.set_title(f"{c['label']}: scrambled minus images {d['mean']:+.2f} points\n(95 % CI {ci}, {d['n']} seeds)",
                     fontsize=10)
        ax.set_xticks([0, 1], ["images", "scrambled pixels"])
        ax.set_xlim(-0.5, 1.8)
        ax.set_ylabel("test accuracy (%)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2)  # below, clear of the data
    fig.suptitle("Does the network use neighbouring pixels? The same training budget on the images and on one "
                 "fixed scrambling of their pixels\n" + " ".join(verdicts), fontsize=10)
    return fig


def factor_figure(title: str, bars: list[tuple[str, str, dict]], paired: dict | None = None) -> Figure:
    """One row per setting (factor, row name, interval of its test accuracy), a colour a factor:
    left, its test accuracy with its 95 % interval, a dashed line at the base row's mean; right,
    where `paired` ({row: interval of its difference from the base, paired by seed}) is given, that
    difference and its interval against 0, what the verdicts read (filled: the interval excludes 0)."""
    fig = Figure(figsize=(10, 0.42 * len(bars) + 1.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True, width_ratios=[1.2, 1]) if paired else [fig.subplots()]
    colours = {}
    for i, (factor, row, iv) in enumerate(bars):
        colour = colours.setdefault(factor, f"C{len(colours)}")
        err = [[iv["mean"] - iv["low"]], [iv["high"] - iv["mean"]]] if iv["low"] is not None else None
        axes[0].errorbar(iv["mean"], i, xerr=err, fmt="o", color=colour, capsize=3)  # a colour a factor: its
        # rows' names say what changed, so no legend is needed
        axes[0].text(iv["high"] if iv["high"] is not None else iv["mean"], i, f"  {iv['mean']:.2f}", va="center",
                     fontsize=8)  # beyond the error bar's end, not struck through by it
        d = (paired or {}).get(row)
        if d is not None:
            derr = [[d["mean"] - d["low"]], [d["high"] - d["mean"]]] if d["low"] is not None else None
            axes[1].errorbar(d["mean"], i, xerr=derr, fmt="o", color=colour, capsize=3,
                             mfc=colour if stats.excludes_zero(d) else "white")
    base = next((iv["mean"] for factor, _, iv in bars if factor == "base"), None)
    if base is not None:
        axes[0].axvline(base, ls="--", color="grey")
    lows = [iv["low"] if iv["low"] is not None else iv["mean"] for _, _, iv in bars]
    axes[0].set_xlim(min(lows) - 2, max(iv["high"] or iv["mean"] for _, _, iv in bars) + 4)  # room for the numbers
    axes[0].set_yticks(range(len(bars)), [row for _, row, _ in bars])
    axes[0].invert_yaxis()
    axes[0].set_xlabel("test accuracy (%)")
    if paired:
        axes[1].axvline(0, color="black", lw=0.8)
        axes[1].set_xlabel("minus the base's, paired by seed (points);\nfilled: the 95 % interval excludes 0")
    for ax in axes:
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(textwrap.fill(title, 110), fontsize=11)
    return fig


def spiky(values) -> bool:
    """Whether losses span so much (over 20 times) that an early spike would flatten the rest on a
    linear axis: the learning curve then draws them on a log axis."""
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) > 20 * min(positive)


def loss_axis(ax, values, label: str) -> None:
    """A loss axis, logarithmic (and labelled so) where the losses are spiky."""
    if spiky(values):
        ax.set_yscale("log")
        label += ", log scale"
    ax.set_ylabel(label)


def iteration_curve_figure(title: str, iterations: list[float], epochs: list[dict]) -> Figure:
    """Spec 000's learning curve: iterations on x, negative log likelihood on y; every batch's
    training loss (and its running mean over an epoch's batches), and the validation loss at
    the end of each epoch, on one plot."""
    fig = Figure(figsize=(10, 5.5), layout="constrained")
    ax = fig.subplots()
    steps = len(iterations) // max(len(epochs), 1)
    x = np.arange(1, len(iterations) + 1)
    ax.plot(x, iterations, color="tab:blue", alpha=0.35, lw=1, label="training loss, each batch (training mode)")
    if steps > 1:
        kernel = np.ones(steps) / steps
        smooth = np.convolve(iterations, kernel, mode="valid")
        ax.plot(x[steps - 1:], smooth, color="tab:blue", lw=2, label=f"training loss, mean of the last {steps} batches")
    ax.plot([steps * e["epoch"] for e in epochs], [e["val_loss"] for e in epochs], "o-", color="tab:orange", lw=2,
            label="validation loss, end of each epoch (evaluation mode)")
    ax.set_xlabel("iteration (batch)")
    loss_axis(ax, list(iterations) + [e["val_loss"] for e in epochs], "negative log likelihood (cross-entropy)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.suptitle(textwrap.fill(title, 110), fontsize=11)
    return fig


def fraction_curves_figure(title: str, curves: dict, one_row: bool = False) -> Figure:
    """One panel per fraction of the labelled data ({fraction: {start: epochs}}): each start's
    training loss (dashed) and validation loss (solid) per epoch, shared axes; in a near-square
    grid, or (`one_row`) side by side."""
    rows, cols = (1, len(curves)) if one_row else grid_shape(len(curves))
    fig = Figure(figsize=(3.4 * cols + 0.8, 2.6 * rows + 1.2), layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    starts = list(dict.fromkeys(s for panel in curves.values() for s in panel))
    for ax, (fraction, panel) in zip(axes, curves.items()):
        for k, start in enumerate(starts):
            epochs = panel.get(start, [])
            x = [e["epoch"] for e in epochs]
            ax.plot(x, [e["train_loss"] for e in epochs], "--", color=f"C{k}", label=f"{start}: training")
            ax.plot(x, [e["val_loss"] for e in epochs], "o-", color=f"C{k}", ms=3, label=f"{start}: validation")
        ax.set_title(f"{fraction} of the labels", fontsize=9)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(
            LogLocator(
                subs=log_ticks(
                    [
                        e[k]
                        for panel in curves.values()
                        for epochs in panel.values()
                        for e in epochs
                        for k in ("train_loss", "val_loss")
                    ]
                )
            )
        )
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[len(curves):]:
        ax.set_axis_off()
    for k, ax in enumerate(axes[:len(curves)]):
        if k + cols >= len(curves):  # no panel below it (fig.supxlabel would sit under the legend)
            ax.set_xlabel("epoch")
            ax.xaxis.set_tick_params(labelbottom=True)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(starts) * 2, fontsize=8)
    fig.supylabel("cross-entropy loss (log scale)")
    fig.suptitle(textwrap.fill(title, int(10 * fig.get_figwidth())), fontsize=11)
    return fig


def feature_maps_figure(
    title: str, images: list, labels: list[str], layer: str, maps: list, heads: list[str] | None = None,
    framed: set | None = None, note: str | None = None,
) -> Figure:
    """Spec 004 3.3: one layer's feature maps, a row per image (its label on the left, the image
    first) and a column per channel; each channel scaled from 0 to its largest value in the figure,
    so rows compare within a column. `heads` go over the columns (default "ch. c"), the (row,
    channel) cells in `framed` are outlined, and `note` says under the maps what they show."""
    rows, cols = len(images), len(maps[0]) + 1
    fig = Figure(figsize=PAGE_INCHES, layout="constrained")
    axes = np.asarray(fig.subplots(rows, cols, squeeze=False))
    top = [max(float(np.max(m[c])) for m in maps) or 1.0 for c in range(cols - 1)]
    heads = heads or [f"ch. {c}" for c in range(cols - 1)]  # "channel 0" runs into its neighbour in a column
    shown = None
    for i, (image, row) in enumerate(zip(images, maps)):
        axes[i, 0].imshow(np.asarray(image), cmap="gray", vmin=-1, vmax=1)
        axes[i, 0].set_ylabel(labels[i], fontsize=8)
        for c, m in enumerate(row):
            shown = axes[i, c + 1].imshow(np.asarray(m) / top[c], cmap="magma", vmin=0, vmax=1)
            if (i, c) in (framed or ()):
                for spine in axes[i, c + 1].spines.values():
                    spine.set(edgecolor="#00c8ff", linewidth=2.5)
            if i == 0:
                axes[i, c + 1].set_title(heads[c], fontsize=8)
    axes[0, 0].set_title("image", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    if shown is not None:
        scale_bar(fig, shown, axes[:, 1:], "0", "channel's max")
    if note:
        fig.supxlabel(textwrap.fill(note, int(13 * fig.get_figwidth())), fontsize=8)
    side = np.asarray(maps[0][0]).shape[0]
    fig.suptitle(f"{title}: {layer}, after its ReLU ({side}x{side})")
    fig.column_inches = 0.5 * rows + 0.15 * max(h.count("\n") for h in heads) + (0.45 if note else 0) + 0.9
    return fig
