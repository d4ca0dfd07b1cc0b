"""Pure figure functions of analyze.py's optimisation pages: data in, a matplotlib Figure out."""
import textwrap

import numpy as np
from matplotlib.figure import Figure

from .analysis_plots import _image
from .plots import GRAY
from .plots import _normalise


def class_models_figure(results: dict, classes: list[str], method: str) -> Figure:
    """One row per network: each class's class model, titled with its softmax probability."""
    fig = Figure(figsize=(14, 2.1 * len(results) + 1.5), layout="constrained")
    axes = np.asarray(fig.subplots(len(results), len(classes), squeeze=False))
    for r, (network, res) in enumerate(results.items()):
        for k, name in enumerate(classes):
            ok = int(res["predicted"][k]) == k
            _image(axes[r, k], res["images"][k, 0].numpy(), f"{network}: {name}\np = {float(res['probability'][k]):.2f}",
                   colour="black" if ok else "tab:red")
    width = int(9 * fig.get_figwidth())
    fig.suptitle(textwrap.fill("Class models (Simonyan et al. 2014): for each class, the input in [-1, 1] that "
                               "maximises its logit; p = the network's softmax probability of that class (red: another "
                               "class is more probable)", width) + "\n" + textwrap.fill(method, width), fontsize=10)
    return fig


def channel_figure(rows: list[dict], method: str) -> Figure:
    """Per channel: its optimised input, cropped to the stage's receptive field, beside its
    top-activating test patches."""
    cols = 1 + max(len(r["patches"]) for r in rows)
    fig = Figure(figsize=(1.6 * cols + 2.2, 1.45 * len(rows) + 1.4), layout="constrained")
    axes = np.asarray(fig.subplots(len(rows), cols, squeeze=False))
    for i, r in enumerate(rows):
        axes[i, 0].imshow(r["visual"], cmap=GRAY, vmin=-1, vmax=1)
        axes[i, 0].set_title(f"optimised: {r['reached']:.2f}\n(best test image {r['best']:.2f})", fontsize=7, pad=2,
                             color="black" if r["reached"] > r["best"] else "tab:red")
        axes[i, 0].set_axis_off()
        axes[i, 0].text(-0.25, 0.5, f"{r['stage']} ch {r['channel']}\n{r['field']}x{r['field']} px",
                        transform=axes[i, 0].transAxes, ha="right", va="center", fontsize=8)
        for j in range(1, cols):
            axes[i, j].set_axis_off()
            if j - 1 < len(r["patches"]):
                axes[i, j].imshow(r["patches"][j - 1], cmap=GRAY, vmin=-1, vmax=1)
                axes[i, j].set_title("top patch" if j == 1 else "", fontsize=7, pad=2)
    width = int(9 * fig.get_figwidth())  # the page's heading sets the title at 12 points
    fig.suptitle(textwrap.fill("Channel visualisations: the input that maximises each channel's mean activation (the "
                               "numbers: that mean, against the best test image's), cropped to the stage's receptive "
                               "field, beside the test patches that excite the channel most (question 9's channels)",
                               width) + "\n" + textwrap.fill(method, width), fontsize=9)
    return fig


def saliency_figure(results: dict) -> Figure:
    """Per network three rows: the examples, |d score / d input|, guided backpropagation."""
    n = max(len(r["examples"]) for r in results.values())
    fig = Figure(figsize=(1.45 * n + 1.6, 4.4 * len(results) + 1.0), layout="constrained")
    axes = np.asarray(fig.subplots(3 * len(results), n, squeeze=False))
    for b, (network, r) in enumerate(results.items()):
        for j, e in enumerate(r["examples"]):
            ok = e["true"] == e["pred"]
            _image(axes[3 * b, j], r["images"][j].numpy(), f"{network}: {e['true_name']}\n-> {e['pred_name']}",
                   colour="black" if ok else "tab:red", fontsize=7)
            for row, key, name in ((1, "plain", "|gradient|"), (2, "guided", "guided backprop")):
                ax = axes[3 * b + row, j]
                ax.imshow(_normalise(r[key][j].numpy()), cmap="inferno", vmin=0, vmax=1)
                ax.set_title(name, fontsize=7, pad=2)
                ax.set_axis_off()
    fig.suptitle(textwrap.fill("Saliency (Simonyan et al. 2014): |d logit of the predicted class / d pixel| (one "
                               "grayscale channel, no maximum over colours), beside guided backpropagation of the same "
                               "logit; 4 correct predictions, then the 4 most confident mistakes (red)",
                               int(9 * fig.get_figwidth())), fontsize=9)
    return fig


def targeted_figure(results: dict, classes: list[str], numbers: dict) -> Figure:
    """Per network: the original, the change (amplified, with its scale) and the result."""
    n = max(len(r["classes"]) for r in results.values())
    fig = Figure(figsize=(1.35 * n + 1.5, 4.5 * len(results) + 1.6), layout="constrained")
    axes = np.asarray(fig.subplots(3 * len(results), n, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    for b, (network, r) in enumerate(results.items()):
        scale = float(r["change"].abs().max()) or 1.0
        for j, k in enumerate(r["classes"]):
            target = int(r["targets"][j])
            _image(axes[3 * b, j], r["before"][j].numpy(), f"{network}: {classes[k]}", fontsize=7)
            ax = axes[3 * b + 1, j]
            ax.imshow(r["change"][j, 0].numpy() / scale, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_title(f"change x{1 / scale:.1f}\nL2 {float(r['l2'][j]):.2f}", fontsize=7, pad=2)
            ax.set_axis_off()
            reached = bool(r["reached"][j])
            _image(axes[3 * b + 2, j], r["images"][j, 0].numpy(),
                   f"-> {classes[int(r['predicted'][j])]}\n(target {classes[target]})",
                   colour="black" if reached else "tab:red", fontsize=7)
    lines = [f"{k.upper()}: median L2 {numbers[k]['median_l2']:.2f}, median L-infinity {numbers[k]['median_linf']:.2f}, "
             f"{sum(numbers[k]['reached'])} of {len(numbers[k]['reached'])} reached their target" for k in ("ffn", "cnn")
             if k in numbers]
    width = int(9 * fig.get_figwidth())
    fig.suptitle("\n".join([textwrap.fill("Targeted fooling (Szegedy et al. 2014): one correct test image per class, "
                                          f"moved by gradient steps (each {numbers['step']:g} in L2, at most "
                                          f"{numbers['steps']}) until the network gives the class it most often "
                                          "confuses it with; the change is shown amplified to its largest value (blue "
                                          "lowers a pixel, red raises it)", width)] + lines
                           + [textwrap.fill(numbers["sentence"], width)]), fontsize=9)
    return fig
