"""Pure figure functions of analyze.py's class patterns: class images from noise and
class-averaged gradients, each under its class's pattern."""
import numpy as np
from matplotlib.figure import Figure

from fmnist.analysis.figures import CNN_TWO_VIEWS, LABELS
from fmnist.core.pages import PAGE_INCHES
from fmnist.core.plotting import draw_image


def pattern_figure(patterns: np.ndarray, rows: list[tuple[str, np.ndarray, dict]], classes: list[str], title: str,
                   signed_maps: bool = False) -> Figure:
    """A column per class: the first row each class's particular pattern (its mean test image minus
    the mean of every test image, signed), then one row per (label, maps (n, 28, 28) in class
    order, their numbers), each titled with its correlation r with its class's pattern, marked *
    where it correlates more with another class's. `signed_maps`: the rows are signed maps, each on
    its own symmetric scale (else images in [-1, 1])."""
    fig = Figure(figsize=PAGE_INCHES, layout="constrained")
    fig.get_layout_engine().set(rect=LABELS)
    axes = np.asarray(fig.subplots(1 + len(rows), len(classes), squeeze=False))
    scale = float(np.abs(patterns).max()) or 1.0
    for k, name in enumerate(classes):
        shown = axes[0, k].imshow(patterns[k] / scale, cmap="bwr", vmin=-1, vmax=1)
        axes[0, k].set_title(name, fontsize=8, pad=2)
        axes[0, k].set_axis_off()
    for row, (label, maps, n) in enumerate(rows, start=1):
        for j, k in enumerate(n.get("shown", range(len(maps)))):
            if n["own_correlation"][k] is None:  # no image to average
                axes[row, j].set_axis_off()
                axes[row, j].set_title("no images", fontsize=8, pad=2)
                continue
            own = n["looks_like"][k] == n["classes"][k]
            text = f"r {n['own_correlation'][k]:.2f}" + ("" if own else "*")
            if signed_maps:
                signed_map = maps[j] / (float(np.abs(maps[j]).max()) or 1.0)
                axes[row, j].imshow(signed_map, cmap="bwr", vmin=-1, vmax=1)
                axes[row, j].set_title(text, fontsize=8, pad=2)
                axes[row, j].set_axis_off()
            else:
                draw_image(axes[row, j], maps[j], text)
        axes[row, 0].text(-0.2, 0.5, label, transform=axes[row, 0].transAxes, ha="right", va="center", fontsize=8)
    axes[0, 0].text(-0.35, 0.5, "class\npattern", transform=axes[0, 0].transAxes, ha="right", va="center",
                    fontsize=8)
    bar = fig.colorbar(shown, ax=axes[0], ticks=[-1, 1], shrink=0.9, aspect=6)
    bar.ax.set_yticklabels([f"-{scale:.2f}", f"+{scale:.2f}"], fontsize=8)
    fig.suptitle(title, fontsize=9)
    return fig


def noise_figure(network: str, patterns: np.ndarray, rows: list[tuple[str, np.ndarray, dict]], classes: list[str],
                 two_views: bool = False) -> Figure:
    """One network's class images from noise under their classes' patterns (pattern_figure)."""
    return pattern_figure(patterns, rows, classes, (
        f"{network} class images from noise (Olah et al., Distill 2017; the recipe on the last page): every start of "
        "the trained network, and the first of its untrained copy (the control: the same recipe and noise). Top row: "
        "each class's pattern, its mean test image minus the mean of every test image. Each image: its correlation r "
        "with its class's pattern; * where it correlates more with another class's."
        + (" " + CNN_TWO_VIEWS if two_views else "")))


def averaged_figure(patterns: np.ndarray, rows: list[tuple[str, np.ndarray, dict]], classes: list[str],
                    per_class: int, two_views: bool = False) -> Figure:
    """Class-averaged gradients under their classes' patterns (pattern_figure), signed."""
    return pattern_figure(patterns, rows, classes, (
        f"Class-averaged gradients: d logit(class) / d pixel averaged over up to {per_class} correctly classified test "
        "images of the class (red raises the logit, blue lowers it; each map on its own scale), for the trained "
        "network, a copy with every layer re-drawn and, where shown, a network trained on shuffled labels (the "
        "controls). Each map: its correlation r with its class's "
        "pattern (top row: the class's mean test image minus the mean of every test image); * where it correlates "
        "more with another class's."
        + (" " + CNN_TWO_VIEWS if two_views else "")), signed_maps=True)
