"""Pure plotting functions: data in, a matplotlib Figure out (object-oriented API only)."""
import math

import matplotlib

matplotlib.use("Agg")
import textwrap

import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import colormaps
from matplotlib.figure import Figure  # noqa: E402

from fmnist.core.metrics import NEIGHBOURS, mean_purity
from fmnist.core.pages import PAGE_INCHES, chunks

GRAY = "gray"


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid for n panels (wider than tall)."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def confusion_figure(network: str, confusion: np.ndarray, classes, column: bool = False) -> Figure:
    """Q4: test-set confusion matrix, as counts and normalised by true class; `column`: one matrix
    for a report's text column, its counts shaded by the fraction of the true class."""
    if column:
        return column_confusion_figure({network: confusion}, classes)
    confusion = np.asarray(confusion)
    rates = confusion / confusion.sum(axis=1, keepdims=True).clip(min=1)
    fig = Figure(figsize=(16, 7), layout="constrained")
    for ax, (values, fmt, title) in zip(fig.subplots(1, 2), ((confusion, "d", "counts"), (
            rates, ".2f", "fraction of each true class (rows sum to 1)"))):
        _heatmap(ax, values, values, fmt, classes, title, rotation=45)
    fig.suptitle(_confusion_title(network, confusion), fontsize=13)
    return fig


def column_confusion_figure(matrices: dict, classes) -> Figure:
    """Confusion matrices for a report's text column, side by side, each cell the count shaded by
    its share of the true class (one colour scale for all); the class names once, on the left."""
    matrices = {network: np.asarray(confusion) for network, confusion in matrices.items()}
    one = len(matrices) == 1
    fig = Figure(figsize=(6.7, 6.6) if one else (6.7, 4.3), layout="constrained")
    for k, (ax, (network, confusion)) in enumerate(zip(np.atleast_1d(fig.subplots(1, len(matrices))),
                                                       matrices.items())):
        rates = confusion / confusion.sum(axis=1, keepdims=True).clip(min=1)
        _heatmap(ax, rates, confusion, "d", classes, "counts, shaded by the fraction of each true class" if one
                 else _confusion_title(network, confusion, short=True), rotation=90, bar=k == len(matrices) - 1,
                 names=k == 0)
    if one:
        fig.suptitle(_confusion_title(*next(iter(matrices.items()))), fontsize=13)
    else:
        fig.column_inches = 4.3
        fig.suptitle("Confusion matrices on the test set: counts, shaded by the fraction of each true class",
                     fontsize=11)
    return fig


def _confusion_title(network: str, confusion: np.ndarray, short: bool = False) -> str:
    accuracy = np.trace(confusion) / max(1, confusion.sum())
    if short:
        return f"{network}\n(accuracy {100 * accuracy:.2f}%)"
    return f"{network}: confusion matrix on the {confusion.sum():,} test images (accuracy {100 * accuracy:.2f}%)"


def _heatmap(ax, shade, values, fmt: str, classes, title: str, rotation: int, bar: bool = True,
             names: bool = True) -> None:
    sns.heatmap(shade, annot=values, fmt=fmt, cmap="Blues", square=True, cbar=bar, ax=ax, vmin=0,
                vmax=None if fmt == "d" and shade is values else 1, cbar_kws={"shrink": 0.6},
                xticklabels=classes, yticklabels=classes if names else False, annot_kws={"fontsize": 8})
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class" if names else "")
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=rotation)
    ax.tick_params(axis="y", rotation=0)


def scale_bar(fig, image, axes, low: str, high: str, across: bool = False, middle: str | None = None) -> None:
    """One colour bar for maps each scaled to [0, 1] (or, with `middle`, to [-1, 1]) on its own,
    its ends saying what they are: beside the maps, or under them (`across`) where their columns
    need the width."""
    ticks, labels = ([0, 1], [low, high]) if middle is None else ([-1, 0, 1], [low, middle, high])
    bar = fig.colorbar(image, ax=axes, ticks=ticks, shrink=0.3 if across else 0.5, aspect=40 if across else 25,
                       orientation="horizontal" if across else "vertical")
    (bar.ax.set_xticklabels if across else bar.ax.set_yticklabels)(labels, fontsize=8)


def signed(maps: np.ndarray) -> np.ndarray:
    """Signed maps on one symmetric scale: divided by their common 99th-percentile |value|, clipped
    to [-1, 1] (0 stays 0, so red and blue mean the same in every map of the set)."""
    scale = float(np.percentile(np.abs(maps), 99)) or 1.0
    return np.clip(np.asarray(maps) / scale, -1, 1)


def normalise(a: np.ndarray) -> np.ndarray:
    """Scale one array to [0, 1] (a constant array becomes 0.5)."""
    lo, hi = float(a.min()), float(a.max())
    return np.full_like(a, 0.5, dtype=float) if hi == lo else (a - lo) / (hi - lo)


def kernel_grid_figure(kernels: np.ndarray, title: str, labels: list[str] | None = None, top: float = 1.6,
                       cols: int | None = None) -> Figure:
    """Q5: each kernel (K, kh, kw) normalised to [0, 1] on its own, framed, in a near-square grid
    (or rows of `cols`), with one colour bar under the grid.

    A fixed grid rather than constrained layout: with a hundred panels the layout solver
    would cost more than the drawing."""
    rows, cols = grid_shape(len(kernels)) if cols is None else (-(-len(kernels) // cols), cols)
    width, height = PAGE_INCHES  # top: inches of room for the titles
    fig = Figure(figsize=(width, height))
    grid = fig.add_gridspec(rows, cols, left=0.4 / width, right=1 - 0.4 / width, bottom=0.4 / height,
                            top=1 - top / height, wspace=0.12, hspace=0.3)
    axes = []
    for i in range(rows * cols):
        ax = fig.add_subplot(grid[i // cols, i % cols])
        axes.append(ax)
        if i < len(kernels):
            image = ax.imshow(normalise(kernels[i]), cmap=GRAY, vmin=0, vmax=1)
            ax.set_title(labels[i] if labels else str(i), fontsize=8, pad=2)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():  # a frame per kernel: a dark kernel stays told from its neighbours
                spine.set(linewidth=0.6, color="0.5")
        else:
            ax.set_axis_off()
    bar = fig.colorbar(image, ax=axes, orientation="horizontal", ticks=[0, 1], shrink=0.5, aspect=50,
                       fraction=0.04, pad=0.03)
    bar.ax.set_xticklabels(["0: most negative weight", "1: most positive weight"], fontsize=8)
    fig.suptitle(title, fontsize=12, y=1 - 0.35 / height, va="top")
    return fig


CLASS_COLOURS = "tab10"


def draw_image(ax, pixels, title="", colour="black", fontsize=8):
    ax.imshow(np.asarray(pixels).reshape(28, 28), cmap=GRAY, vmin=-1, vmax=1)
    ax.set_title(title, fontsize=fontsize, color=colour, pad=2)
    ax.set_axis_off()


def layer_table_figure(network: str, table: dict,
                       note: str = " (flip averaging in evaluation runs the CNN twice)") -> Figure:
    """The layer table: shapes, parameters, neurons and multiply-adds, with part totals."""
    shape = lambda s: " x ".join(map(str, s))  # noqa: E731
    rows = [[r["name"], r["kind"], shape(r["input"]), shape(r["output"]), f"{r['parameters']:,}",
             f"{r['neurons']:,}" if r["neurons"] else "", f"{r['multiply_adds']:,}" if r["multiply_adds"] else ""]
            for r in table["layers"]]
    totals = [[f"total: {part}", "", "", "", f"{t['parameters']:,}", f"{t['neurons']:,}", f"{t['multiply_adds']:,}"]
              for part, t in table["totals"].items()]
    fig = Figure(figsize=(11, 1.6 + 0.27 * (len(rows) + len(totals))), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    cells = ax.table(cellText=rows + totals, colLabels=["layer", "kind", "input", "output", "parameters",
                                                         "neurons", "multiply-adds"],
                     loc="upper center", cellLoc="left", colLoc="left",
                     colWidths=[0.2, 0.1, 0.13, 0.13, 0.13, 0.12, 0.15])
    cells.auto_set_font_size(False)
    cells.set_fontsize(9)
    for col in range(7):
        cells[0, col].set_text_props(fontweight="bold")
        for row in range(len(rows) + 1, len(rows) + len(totals) + 1):
            cells[row, col].set_text_props(fontweight="bold")
            cells[row, col].set_facecolor("#eeeeee")
    definition = f"Definition: {table['definition']}. Multiply-adds are those of one forward pass{note}."
    ax.set_title(f"{network}: every layer in forward order, per image\n" + "\n".join(textwrap.wrap(definition, 120)),
                 fontsize=10)
    fig.table_text = {"title": f"{network}: every layer in forward order, per image",  # for a text copy (LaTeX)
                      "columns": ["layer", "kind", "input", "output", "parameters", "neurons", "multiply-adds"],
                      "rows": rows + totals, "notes": [definition]}
    return fig


def right_wrong_figure(network: str, examples: list[dict]) -> Figure:
    """4 correct predictions, then the 4 most confident mistakes."""
    return right_wrong_rows_figure({network: examples})


def right_wrong_rows_figure(examples: dict[str, list[dict]]) -> Figure:
    """Each network's 4 correct predictions, then its 4 most confident mistakes: one network in two
    rows, several in one row each (a report's column holds two networks in one figure)."""
    several = len(examples) > 1
    fig = Figure(figsize=(10, 5.6) if not several else (10, 2.3 * len(examples)), layout="constrained")
    rows = fig.subfigures(len(examples), 1) if several else [fig]
    for row, (network, chosen) in zip(np.atleast_1d(rows), examples.items()):
        axes = row.subplots(1, 8) if several else row.subplots(2, 4)
        for ax, ex in zip(np.ravel(axes), chosen):
            ok = ex["pred"] == ex["true"]
            title = (f"#{ex['index']}  {'correct' if ok else 'WRONG'}\npredicted {ex['pred_name']} "
                     f"({100 * ex['confidence']:.0f}%)\ntrue {ex['true_name']}") if not several else (
                f"#{ex['index']}\n{ex['pred_name']}\n{100 * ex['confidence']:.0f}%" + ("" if ok else
                                                                                   f"\ntrue {ex['true_name']}"))
            draw_image(ax, np.asarray(ex["pixels"]) / 127.5 - 1, title, colour="tab:green" if ok else "tab:red",
                       fontsize=9 if not several else 8)
        if several:
            fig.column_inches = 1.9 * len(examples)  # a row of images and their titles each
            row.suptitle(f"{network}: 4 correct (green), its 4 most confident mistakes (red, with the true class)",
                         fontsize=9)
    fig.suptitle((next(iter(examples)) + "\ntop: 4 correct test predictions (random, seeded); bottom: its 4 most "
                  "confident mistakes") if not several else "Correct predictions (random, seeded) and the most "
                 "confident mistakes: predicted class and confidence", fontsize=11)
    return fig


def roc_figure(curves: dict, classes) -> Figure:
    """One-vs-rest ROC curves per class, a panel per network; AUCs in the legend."""
    fig = Figure(figsize=(13, 6.2), layout="constrained")
    if len(curves) <= 2:
        fig.column_inches = 4.6  # in a report: each panel half the text's width, about as tall
    axes = np.atleast_1d(fig.subplots(1, len(curves)))
    for ax, (network, roc) in zip(axes, curves.items()):
        for k, name in enumerate(classes):
            c = roc["classes"][name]
            ax.plot(c["fpr"], c["tpr"], color=colormaps[CLASS_COLOURS](k), lw=1.3, label=f"{name}  AUC {c['auc']:.4f}")
        # chance (tpr = fpr) through many points: the axis is not linear, so two points would
        # draw it straight on the page, off the diagonal everywhere but its ends
        chance = np.unique(np.concatenate([np.linspace(0, 0.01, 11), np.geomspace(0.01, 1, 101), [0.5]]))
        ax.plot(chance, chance, color="gray", ls=":", lw=1, label="chance (AUC 0.5)")
        ax.set_xscale("symlog", linthresh=0.01)
        ax.set_xlim(0, 1)
        ax.set_ylim(0.5, 1.005)
        ax.set_xlabel("false positive rate (linear below 0.01, log above)")
        ax.set_ylabel("true positive rate")
        ax.set_title(f"{network}\nmacro AUC {roc['macro_auc']:.4f}", fontsize=11)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("One-vs-rest ROC curves on the test set: each class against the other nine, "
                 "scored by its softmax probability", fontsize=11)
    return fig




def tsne_figure(embeddings: dict, classes, note: str) -> Figure:
    """2-D t-SNE of penultimate features, a panel per network, coloured by true class."""
    fig = Figure(figsize=PAGE_INCHES if len(embeddings) > 2 else (14, 7), layout="constrained")
    if len(embeddings) <= 2:
        fig.column_inches = 5.2  # in a report: square panels half the text's width, their titles and legend
    axes = np.atleast_1d(fig.subplots(1, len(embeddings)))
    for ax, (network, (points, labels, layer)) in zip(axes, embeddings.items()):
        for k, name in enumerate(classes):
            sel = labels == k
            ax.scatter(points[sel, 0], points[sel, 1], s=3, alpha=0.7, color=colormaps[CLASS_COLOURS](k),
                       label=name, rasterized=True)
        share = mean_purity(points, labels)
        ax.set_title("\n".join(textwrap.wrap(network, 34) + textwrap.wrap(f"features: {layer}", 34))
                     + f"\n{100 * share:.0f} % of {NEIGHBOURS} nearest neighbours\nshare an image's class", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[len(axes) // 2].legend(markerscale=4, fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.02),
                                ncols=5 if len(axes) > 2 else 3)  # under the panels, inside the layout
    fig.suptitle(f"t-SNE of the penultimate-layer features of the test images, coloured by true class\n({note})\n"
                 "t-SNE keeps neighbours, not distances: the gaps between clusters and their sizes mean little",
                 fontsize=11)
    return fig


GUIDED_ROWS = 6  # channels to a page of guided backpropagation


LINES = {"vertical edges": "|", "horizontal edges": "-", "diagonal edges (\\)": "\\", "diagonal edges (/)": "/"}


def guided_figures(rows: list[dict], title: str, saliency: dict | None = None, per_page: int = GUIDED_ROWS,
                   width: float | None = None) -> list[Figure]:
    """Guided backpropagation, one channel a row: its 5 most exciting images, each beside its
    guided map (red raises the channel, blue lowers it; each row on one symmetric scale), the
    channel labelled with its class, the share of that class among its top images where it was
    described (and where it was chosen), the region its maps favour and the quarter of the image
    they sit in, where they sit in one. `saliency`: a last row of plain gradients for the first
    channel, for contrast. `per_page` rows to a figure. `width`: inches, a compact figure for a
    text column (class names only over the images, no title room), else a landscape page. A fixed
    grid: the row labels get a margin of their own, the images the rest."""
    lines = [(row, "guided", "black") for row in rows]
    if saliency is not None:
        lines.append(({**saliency, "classes": ["same image"] * len(saliency["images"]), "picked_for": "plain gradient",
                       "activations": None}, "plain gradient", "tab:blue"))
    compact = width is not None
    figs = []
    for chunk in chunks(lines, per_page):
        if compact:
            w, h, top, bottom = width, 0.74 * len(chunk) + 0.75, 0.2, 0.6
        else:
            (w, h), top, bottom = PAGE_INCHES, 3.9, 0.9  # room for the page heading, its caption and this title
        fig, rows_drawn = Figure(figsize=(w, h)), len(chunk) if compact else per_page
        grid = fig.add_gridspec(rows_drawn, 10, left=1.3 / w, right=1 - 0.3 / w, top=1 - top / h, bottom=bottom / h,
                                wspace=0.1, hspace=0.45 if compact else 0.6)
        axes = np.asarray([[fig.add_subplot(grid[r, c]) for c in range(10)] for r in range(rows_drawn)])
        for ax in axes.ravel():
            ax.set_axis_off()
        for r, (row, kind, colour) in enumerate(chunk):
            maps = signed(np.asarray(row["maps"]))
            for j in range(len(row["images"])):
                name = row["classes"][j].split("/")[0]
                if row["activations"] and not compact:
                    name += f"\nact {row['activations'][j]:.2f}"
                draw_image(axes[r, 2 * j], row["images"][j], name)
                shown = axes[r, 2 * j + 1].imshow(maps[j], cmap="bwr", vmin=-1, vmax=1)
                if not compact:
                    axes[r, 2 * j + 1].set_title(kind, fontsize=8, pad=2, color=colour)
            label = (f"channel {row['channel']}\n{row['picked_for']}" if not row.get("edges") or compact else
                     f"ch. {row['channel']}: {row['picked_for']}")  # a line saved for the lines' direction
            if "share" in row:
                label += (f"\n{100 * row['share']:.0f}% ({100 * row['chosen_share']:.0f}%)" if "chosen_share" in row
                          else f"\n{100 * row['share']:.0f}% of top 20")
            if row.get("quadrant"):
                label += f"\n{row['quadrant']} {100 * row['quadrant_share']:.0f}%"
            elif "region" in row and not compact:
                label += f"\n{row['region'] or 'no region'}"
            if row.get("edges") and not compact:
                label += f"\nlines {LINES.get(row['edges'], 'mixed')}"
            axes[r, 0].text(-0.12, 0.5, label, color=colour, transform=axes[r, 0].transAxes, ha="right",
                            va="center", fontsize=8, linespacing=1.1)
        bar = fig.colorbar(shown, cax=fig.add_axes((0.35, (bottom - 0.38) / h, 0.45, 0.1 / h)), ticks=[-1, 0, 1],
                           orientation="horizontal")
        bar.ax.set_xticklabels(["lowers", "0", "raises the channel"], fontsize=8)
        fig.suptitle(title, fontsize=9, y=1 - (0.1 if compact else 0.4) / h, va="top")
        figs.append(fig)
    return figs


def fooling_figure(counts, random_acc: dict, greedy_acc: dict, greedy_note: str, random_note: str,
                   fooled: dict) -> Figure:
    """Accuracy against pixels changed (both attacks, both networks; the notes above the axes say on
    which images) and, where `fooled` has them, the image fooled with the fewest pixels, before and
    after."""
    fig = Figure(figsize=(13, 6) if fooled else (8, 6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.6, 1]) if fooled else (fig, None)
    ax = left.subplots()
    styles = {"FFN": "tab:orange", "CNN": "tab:blue"}
    for network, acc in random_acc.items():
        ax.plot(counts, 100 * np.asarray(acc), "o--", color=styles[network], label=f"{network}: random pixels")
    for network, acc in greedy_acc.items():
        zero = next((k for k, v in enumerate(acc) if v == 0), None)
        ax.plot(
            np.arange(len(acc)),
            100 * np.asarray(acc),
            "-",
            color=styles[network],
            lw=2,
            label=f"{network}: greedy, gradient-guided" + (f" (0% first at {zero} pixels)" if zero is not None else ""),
        )
        if zero is not None:
            ax.plot([zero], [0], "v", color=styles[network], ms=9)
    ax.set_xlabel("pixels changed per image (of 784)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("\n".join(textwrap.wrap(f"random: {random_note}", 110) + textwrap.wrap(f"greedy: {greedy_note}", 110)),
                 fontsize=9)
    axes = right.subplots(len(fooled), 2, squeeze=False) if fooled else []
    for r, (network, f) in enumerate(fooled.items()):
        draw_image(axes[r, 0], f["before"], f"{network}: test #{f['index']}\nbefore: {f['pred_before']} "
               f"({100 * f['conf_before']:.0f}%)", fontsize=9)
        draw_image(axes[r, 1], f["after"], f"after {f['pixels']} pixel{'s' if f['pixels'] != 1 else ''} "
               f"(circled):\n{f['pred_after']} ({100 * f['conf_after']:.0f}%)", colour="tab:red", fontsize=9)
        rows, cols = np.nonzero(np.asarray(f["before"]) != np.asarray(f["after"]))
        axes[r, 1].scatter(cols, rows, s=60, facecolors="none", edgecolors="red", linewidths=1.2)
    if fooled:
        right.suptitle("the image fooled with the fewest pixels\n(true class: the 'before' prediction)", fontsize=10)
    fig.suptitle("Fooling the networks: test accuracy against the number of pixels changed", fontsize=12)
    return fig
