"""Pure figure functions of analyze.py: data in, a matplotlib Figure out."""
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from .plots import GRAY, _normalise

CLASS_COLOURS = "tab10"


def _image(ax, pixels, title="", colour="black", fontsize=8):
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
    ax.set_title(f"{network}: every layer in forward order, per image\n"
                 + "\n".join(textwrap.wrap(f"Definition: {table['definition']}. Multiply-adds are those of one "
                                            f"forward pass{note}.", 120)),
                 fontsize=10)
    return fig


def guided_backprop_figure(rows: list[dict], saliency: dict, stage: str, rule: str = "") -> Figure:
    """For each chosen channel, its 5 most exciting test images beside their guided-backprop
    maps; a last row repeats the first channel with plain gradient saliency."""
    n = len(rows) + 1
    fig = Figure(figsize=(13, 1.25 * n + 1.2), layout="constrained")
    axes = np.asarray(fig.subplots(n, 10, squeeze=False))
    for r, row in enumerate(rows):
        for j in range(len(row["images"])):
            _image(axes[r, 2 * j], row["images"][j], f"{row['classes'][j]}\nact {row['activations'][j]:.2f}",
                   fontsize=7)
            axes[r, 2 * j + 1].imshow(_normalise(np.abs(row["maps"][j])), cmap="inferno", vmin=0, vmax=1)
            axes[r, 2 * j + 1].set_axis_off()
            axes[r, 2 * j + 1].set_title("guided backprop", fontsize=7, pad=2)
        share = f"\n{100 * row['share']:.0f}% of its top 20" if "share" in row else ""
        axes[r, 0].text(-0.35, 0.5, f"channel {row['channel']}\n{row['picked_for']}{share}",
                        transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=8)
    for j in range(len(saliency["images"])):
        _image(axes[-1, 2 * j], saliency["images"][j], "same image", fontsize=7)
        axes[-1, 2 * j + 1].imshow(_normalise(np.abs(saliency["maps"][j])), cmap="inferno", vmin=0, vmax=1)
        axes[-1, 2 * j + 1].set_axis_off()
        axes[-1, 2 * j + 1].set_title("plain gradient", fontsize=7, pad=2, color="tab:blue")
    axes[-1, 0].text(-0.35, 0.5, f"channel {saliency['channel']}\nplain gradient\n(for contrast)",
                     transform=axes[-1, 0].transAxes, ha="right", va="center", fontsize=8, color="tab:blue")
    fig.suptitle(f"Guided backpropagation on {len(rows)} channels of {stage}.\nEach row: the 5 test images that "
                 "excite the channel most (act = its largest value over positions), each beside |d channel / d pixel|"
                 "\nwith gradients passed back only through positive ReLU outputs and positive gradients "
                 "(bright = the pixels that raise the channel)."
                 + ("\n" + textwrap.fill(f"Channels: {rule}; beside each, the share of its top 20 test images that "
                                         "are of that class.", 130) if rule else ""), fontsize=10)
    return fig


def class_feature_maps_figure(images: np.ndarray, classes: list[str], indices: list[int],
                              stages: list[tuple[str, np.ndarray]], channels: int) -> Figure:
    """One row per class: its first test image, then the first `channels` channels of each
    conv stage's activated output. `stages`: (label, array (10, C, h, w))."""
    cols = 1 + channels * len(stages)
    fig = Figure(figsize=(1.0 * cols + 0.6, 1.15 * len(images) + 1.3), layout="constrained")
    axes = np.asarray(fig.subplots(len(images), cols, squeeze=False))
    for r, image in enumerate(images):
        _image(axes[r, 0], image, f"{classes[r]}\n(test #{indices[r]})", fontsize=7)
        for s, (label, maps) in enumerate(stages):
            for c in range(channels):
                ax = axes[r, 1 + s * channels + c]
                ax.imshow(maps[r, c], cmap="viridis", vmin=0, vmax=max(float(maps[:, c].max()), 1e-6))
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    shape = " x ".join(map(str, maps.shape[1:]))
                    ax.set_title((f"{label}\n{shape}\n" if c == 0 else "\n\n") + f"ch {c}", fontsize=7)
    fig.suptitle(f"Feature maps of every conv stage (after its pool, batch norm and ReLU) for the first test "
                 f"image of each class; channels 0-{channels - 1} of each stage.\nEach channel uses one colour "
                 "scale across the 10 classes (dark = 0, yellow = that channel's largest value), so rows compare.",
                 fontsize=10)
    return fig


def right_wrong_figure(network: str, examples: list[dict]) -> Figure:
    """4 correct predictions, then the 4 most confident mistakes."""
    fig = Figure(figsize=(10, 5.6), layout="constrained")
    axes = fig.subplots(2, 4)
    for ax, ex in zip(axes.ravel(), examples):
        ok = ex["pred"] == ex["true"]
        _image(ax, np.asarray(ex["pixels"]) / 127.5 - 1,
               f"#{ex['index']}  {'correct' if ok else 'WRONG'}\npredicted {ex['pred_name']} "
               f"({100 * ex['confidence']:.0f}%)\ntrue {ex['true_name']}",
               colour="tab:green" if ok else "tab:red", fontsize=9)
    fig.suptitle(f"{network}\ntop: 4 correct test predictions (random, seeded); bottom: its 4 most confident "
                 "mistakes", fontsize=11)
    return fig


def roc_figure(curves: dict, classes) -> Figure:
    """One-vs-rest ROC curves per class, a panel per network; AUCs in the legend."""
    fig = Figure(figsize=(13, 6.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(curves)))
    for ax, (network, roc) in zip(axes, curves.items()):
        for k, name in enumerate(classes):
            c = roc["classes"][name]
            ax.plot(c["fpr"], c["tpr"], color=colormaps[CLASS_COLOURS](k), lw=1.3, label=f"{name}  AUC {c['auc']:.4f}")
        ax.plot([0, 1], [0, 1], color="gray", ls=":", lw=1)
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
    fig = Figure(figsize=(14, 7), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(embeddings)))
    for ax, (network, (points, labels, layer)) in zip(axes, embeddings.items()):
        for k, name in enumerate(classes):
            sel = labels == k
            ax.scatter(points[sel, 0], points[sel, 1], s=3, alpha=0.7, color=colormaps[CLASS_COLOURS](k),
                       label=name, rasterized=True)
        ax.set_title(f"{network}\nfeatures: {layer}", fontsize=11)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].legend(markerscale=4, fontsize=9, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(f"t-SNE of the penultimate-layer features of the test images, coloured by true class\n({note})",
                 fontsize=11)
    return fig


def fooling_figure(counts, random_acc: dict, greedy_acc: dict, greedy_note: str, random_note: str,
                   fooled: dict) -> Figure:
    """Accuracy against pixels changed (both attacks, both networks) and the image fooled
    with the fewest pixels, before and after."""
    fig = Figure(figsize=(13, 6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.6, 1])
    ax = left.subplots()
    styles = {"FFN": "tab:orange", "CNN": "tab:blue"}
    for network, acc in random_acc.items():
        ax.plot(counts, 100 * np.asarray(acc), "o--", color=styles[network], label=f"{network}: random pixels")
    for network, acc in greedy_acc.items():
        zero = next((k for k, v in enumerate(acc) if v == 0), None)
        ax.plot(np.arange(len(acc)), 100 * np.asarray(acc), "-", color=styles[network], lw=2,
                label=f"{network}: greedy, gradient-guided" + (f" (0% first at {zero} pixels)" if zero is not None else ""))
        if zero is not None:
            ax.plot([zero], [0], "v", color=styles[network], ms=9)
    ax.set_xlabel("pixels changed per image (of 784)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("\n".join(textwrap.wrap(f"random: {random_note}", 110) + textwrap.wrap(f"greedy: {greedy_note}", 110)),
                 fontsize=9)
    axes = right.subplots(len(fooled), 2, squeeze=False) if fooled else []
    for r, (network, f) in enumerate(fooled.items()):
        _image(axes[r, 0], f["before"], f"{network}: test #{f['index']}\nbefore: {f['pred_before']} "
               f"({100 * f['conf_before']:.0f}%)", fontsize=9)
        _image(axes[r, 1], f["after"], f"after {f['pixels']} pixel{'s' if f['pixels'] != 1 else ''} "
               f"(circled):\n{f['pred_after']} ({100 * f['conf_after']:.0f}%)", colour="tab:red", fontsize=9)
        rows, cols = np.nonzero(np.asarray(f["before"]) != np.asarray(f["after"]))
        axes[r, 1].scatter(cols, rows, s=60, facecolors="none", edgecolors="red", linewidths=1.2)
    if fooled:
        right.suptitle("the image fooled with the fewest pixels\n(true class: the 'before' prediction)", fontsize=10)
    fig.suptitle("Fooling the networks: test accuracy against the number of pixels changed", fontsize=12)
    return fig
