"""Pure figure functions of analyze.py: data in, a matplotlib Figure out."""

import math

import numpy as np
from matplotlib.figure import Figure

from fmnist.core.pages import PAGE_INCHES, chunks
from fmnist.core.plotting import GRAY, draw_image, scale_bar, signed

ROWS = 6  # rows of images on one page
CNN_TWO_VIEWS = ("The CNN's logits average the image and its mirror image (its evaluation mode), so its gradients, "
                 "optimised images and attacks are for that two-view average.")
LABELS = (0.1, 0, 0.88, 1)  # constrained layout's area when a row label sits left of the first column


def class_feature_maps_figures(images: np.ndarray, classes: list[str], indices: list[int],
                               stages: list[tuple[str, np.ndarray]], channels: int) -> list[Figure]:
    """One row per class: its first test image, then the first `channels` channels of each
    conv stage's activated output, ROWS classes to a page. `stages`: (label, array (10, C, h, w))."""
    cols = 1 + channels * len(stages)
    figs = []
    for part in chunks(list(range(len(images))), ROWS):
        fig = Figure(figsize=PAGE_INCHES, layout="constrained")
        axes = np.asarray(fig.subplots(ROWS, cols, squeeze=False))
        for ax in axes.ravel():
            ax.set_axis_off()
        for r, i in enumerate(part):
            draw_image(axes[r, 0], images[i], f"{classes[i]}\n(test #{indices[i]})")
            for s, (label, maps) in enumerate(stages):
                for c in range(channels):
                    ax = axes[r, 1 + s * channels + c]
                    ax.set_axis_on()
                    shown = ax.imshow(maps[i, c] / max(float(maps[:, c].max()), 1e-6), cmap="viridis", vmin=0, vmax=1)
                    ax.set_xticks([])
                    ax.set_yticks([])
                    if r == 0:
                        shape = " x ".join(map(str, maps.shape[1:]))
                        ax.set_title((f"{label}\n{shape}\n" if c == 0 else "\n\n") + f"ch {c}", fontsize=8,
                                     loc="left")
        scale_bar(fig, shown, axes, "0: zero", "1: the channel's largest value over the 10 images", across=True)
        fig.suptitle(f"Feature maps of every conv stage (after its pool, batch norm and ReLU) for the first test "
                     f"image of each class; channels 0-{channels - 1} of each stage.\nEach channel uses one colour "
                     "scale across the 10 classes (dark = 0, yellow = that channel's largest value), so rows compare.",
                     fontsize=10)
        figs.append(fig)
    return figs


def robustness_figure(epsilons, curves: dict, notes: dict) -> Figure:
    """Accuracy against the L-infinity size of the change, one line per attack and network."""
    fig = Figure(figsize=PAGE_INCHES, layout="constrained")
    ax = fig.subplots()
    colours, styles = {"FFN": "tab:orange", "CNN": "tab:blue"}, {"FGSM": "o--", "PGD": "s-"}
    for attack, per_network in curves.items():
        for network, acc in per_network.items():
            ax.plot(epsilons, 100 * np.asarray(acc), styles.get(attack, "o-"), color=colours.get(network), lw=2,
                    label=f"{network}, {attack}")
    linear = min(e for e in epsilons if e > 0)
    ax.set_xscale("symlog", linthresh=linear)
    ax.set_xticks(epsilons, [f"{e:g}" for e in epsilons])
    ax.set_xlabel("eps: the largest change of any pixel, as a share of the pixel range [0, 1] (x 255: grey levels);\n"
                  f"the axis is linear from 0 to {linear:g} and logarithmic above it, so equal steps are not equal "
                  "changes")
    ax.set_ylabel("accuracy (%) on the attacked images")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.suptitle("Accuracy against an L-infinity attack on every pixel (Goodfellow et al. 2015; Madry et al. 2018)\n"
                 + "\n".join(f"{a}: {n}" for a, n in notes.items()), fontsize=10)
    return fig


def floor2(p: float) -> str:
    """A probability to 2 decimals, rounded down: 0.8996 shows as 0.89, never as the 0.90 it has not reached."""
    return f"{math.floor(p * 100 + 1e-9) / 100:.2f}"


def class_models_figure(network: str, means, control, r: dict, best_images: list, numbers: dict, classes: list[str],
                        method: str, two_views: bool = False) -> Figure:
    """One network's class models: a column per class with its mean test image, its class model,
    its control (the same recipe with the network removed), what the network added (the model
    minus the control; signed) and its test images of highest logit (`best_images`: one
    (classes, 28, 28) array per rank), each titled with its numbers."""
    fig = Figure(figsize=PAGE_INCHES, layout="constrained")
    fig.get_layout_engine().set(rect=LABELS)
    axes = np.asarray(fig.subplots(4 + len(best_images), len(classes), squeeze=False))
    change = np.asarray(r["images"][:, 0]) - np.asarray(control)
    scale = float(np.abs(change).max()) or 1.0
    for k, name in enumerate(classes):
        draw_image(axes[0, k], means[k], f"{name}\np {floor2(numbers['mean_image_probability'][k])}")
        odd = numbers["fooling"][k] or not numbers["reached"][k]
        draw_image(axes[1, k], r["images"][k, 0],
                   f"p {floor2(numbers['probability'][k])}\nlogit {numbers['logit'][k]:.1f}",
                   colour="tab:red" if odd else "black")
        draw_image(axes[2, k], control[k],
                   f"p {floor2(numbers['control_probability'][k])}\nprior {numbers['strength'][k]:g}")
        shown = axes[3, k].imshow(change[k] / scale, cmap="bwr", vmin=-1, vmax=1)
        axes[3, k].set_title(f"{numbers['from_control'][k]:.1f} from it\nd {numbers['distance_to_mean'][k]:.1f} "
                             f"({numbers['typical'][k]:.1f})", fontsize=8, pad=2, color="tab:red" if odd else "black")
        axes[3, k].set_axis_off()
        for j, (images, index, logit) in enumerate(zip(best_images, numbers["top_test_index"],
                                                       numbers["top_test_logit"])):
            draw_image(axes[4 + j, k], images[k], f"#{index[k]}\nlogit {logit[k]:.1f}")
    for row, text in enumerate(("class mean\n(test images)", "class model", "no network\n(same recipe)",
                                "model - no network")
                               + tuple(f"test image\nranked {j + 1}" for j in range(len(best_images)))):
        axes[row, 0].text(-0.2, 0.5, text, transform=axes[row, 0].transAxes, ha="right", va="center", fontsize=9)
    bar = fig.colorbar(shown, ax=axes[3], ticks=[-1, 1], shrink=0.9, aspect=8)
    bar.ax.set_yticklabels([f"-{scale:.2f}", f"+{scale:.2f}"], fontsize=8)
    fig.suptitle("\n".join((
        f"{network} class models (Simonyan et al. 2014), regularised towards the data. "
        "Rows: the class's mean test image with the network's probability of the class (p); its class model with p "
        "and the logit; the control, the same recipe with the network removed (at the prior strength the model kept), "
        "with p; what the network added (the model minus the control), with its L2 size and the model's distance d "
        "from the mean beside the distance 95 % of the class's test images stay within (in brackets; beyond it, red: "
        "a fooling image); the class's test images with the highest logits."
        + (" " + CNN_TWO_VIEWS if two_views else ""), method + ".")), fontsize=9)
    return fig


def channel_figures(rows: list[dict], method: str) -> list[Figure]:
    """Per channel: its optimised input, cropped to its centre unit's receptive field, beside its
    top-activating test patches (cropped to the same field around their strongest unit); ROWS
    channels to a page."""
    cols = 1 + max(len(r["patches"]) for r in rows)
    title = "\n".join(
        (
            "Channel visualisations of question 9's channels. Each row: the input that maximises the channel's centre "
            "unit (its value, and in brackets the best test "
            "image's value at that unit; red: short of it) with the prior strength it kept, cropped to that unit's "
            "receptive field; then the test patches that excite the channel most, cropped to the same field around "
            "their "
            "strongest unit.",
            method + ".",
        )
    )
    figs = []
    for chunk in chunks(rows, ROWS):
        fig = Figure(figsize=PAGE_INCHES, layout="constrained")
        fig.get_layout_engine().set(rect=LABELS)
        axes = np.asarray(fig.subplots(ROWS, cols, squeeze=False))
        for ax in axes.ravel():
            ax.set_axis_off()
        for i, r in enumerate(chunk):
            axes[i, 0].imshow(r["visual"], cmap=GRAY, vmin=-1, vmax=1)
            axes[i, 0].set_title(f"{r['reached']:.2f} ({r['best']:.2f})\nprior {r['strength']:g}", fontsize=8, pad=2,
                                 color="black" if r["reached"] >= r["best"] else "tab:red")
            axes[i, 0].text(-0.15, 0.5, f"{r['stage']} ch {r['channel']}\nunit {tuple(r['unit'])}\n"
                            f"{r['field']}x{r['field']} px", transform=axes[i, 0].transAxes, ha="right",
                            va="center", fontsize=8)
            for j, patch in enumerate(r["patches"], start=1):
                axes[i, j].imshow(patch, cmap=GRAY, vmin=-1, vmax=1)
                axes[i, j].set_title("top patch" if j == 1 else "", fontsize=8, pad=2)
        fig.suptitle(title, fontsize=9)
        figs.append(fig)
    return figs


def saliency_figure(results: dict) -> Figure:
    """Per network four rows: the examples, d score / d input of the predicted class, guided
    backpropagation of it, and for the mistakes d score / d input of the true class."""
    n = max(len(r["examples"]) for r in results.values())
    fig = Figure(figsize=(1.45 * n + 1.6, 5.6 * len(results) + 1.0), layout="constrained")
    axes = np.asarray(fig.subplots(4 * len(results), n, squeeze=False))
    for b, (network, r) in enumerate(results.items()):
        scale = float(np.percentile(np.abs(r["plain"].numpy()), 99)) or 1.0  # the two gradient rows share one scale
        for j, e in enumerate(r["examples"]):
            ok = e["true"] == e["pred"]
            draw_image(axes[4 * b, j], r["images"][j].numpy(), f"{network}: {e['true_name']}\n-> {e['pred_name']}",
                       colour="black" if ok else "tab:red", fontsize=7)
            rows = [(1, np.clip(r["plain"][j].numpy() / scale, -1, 1), "gradient, predicted"),
                    (2, signed(r["guided"].numpy())[j], "guided backprop")]
            if not ok:
                rows.append((3, np.clip(r["true_plain"][j].numpy() / scale, -1, 1), "gradient, true class"))
            for row, image, name in rows:
                ax = axes[4 * b + row, j]
                shown = ax.imshow(image, cmap="bwr", vmin=-1, vmax=1)
                ax.set_title(name, fontsize=7, pad=2, color="tab:red" if row == 3 else "black")
            for row in range(1, 4):
                axes[4 * b + row, j].set_axis_off()
    scale_bar(fig, shown, axes, "-1: lowers the logit most", "+1: raises it most", across=True, middle="0: no effect")
    fig.suptitle("Saliency (Simonyan et al. 2014): d logit of the predicted class / d pixel, signed (one grayscale "
                 "channel, no maximum over colours), beside guided backpropagation of the same logit, and for each "
                 "mistake d logit of the true class / d pixel (the two gradient rows of a network on one symmetric "
                 "scale, the predicted class's 99th-percentile |value|, clipped; guided backprop on its own); "
                 "4 correct predictions, then the 4 most confident mistakes (red). " + CNN_TWO_VIEWS, fontsize=9)
    return fig


def targeted_figures(results: dict, classes: list[str], numbers: dict) -> list[Figure]:
    """A page per network: the original, the change (amplified, with its scale) and the result."""
    lines = [
        f"{k.upper()}: median L2 {numbers[k]['median_l2']:.2f} (quartiles {numbers[k]['l2_quartiles'][0]:.2f}-"
        f"{numbers[k]['l2_quartiles'][1]:.2f}), median L-infinity {numbers[k]['median_linf']:.2f}, "
        f"{sum(numbers[k]['reached'])} of {len(numbers[k]['reached'])} images reached their target"
        for k in ("ffn", "cnn")
        if k in numbers
    ]
    title = "\n".join(
        [
            "Targeted fooling: test images both networks classify correctly, the same for both (the first of each "
            "class shown; the sizes over all of them), moved by normalised gradient steps (each "
            f"{numbers['step']:g} in L2, at most {numbers['steps']}; an iterative relative of Szegedy et al. "
            "2014's search) until the network gives the class the two networks together most often mistake the "
            "image's class for, "
            "then shrunk along its direction by bisection (10 halvings) to the smallest size that still gives "
            "it; the change is shown amplified to its largest value (blue lowers a pixel, red raises it). "
            + CNN_TWO_VIEWS
        ]
        + lines
    )
    figs = []
    for network, r in results.items():
        fig = Figure(figsize=PAGE_INCHES, layout="constrained")
        axes = np.asarray(fig.subplots(3, len(r["classes"]), squeeze=False))
        scale = float(r["change"].abs().max()) or 1.0
        for j, k in enumerate(r["classes"]):
            target = int(r["targets"][j])
            draw_image(axes[0, j], r["before"][j].numpy(), f"{network}: {classes[k]}")
            ax = axes[1, j]
            change = ax.imshow(r["change"][j, 0].numpy() / scale, cmap="RdBu_r", vmin=-1, vmax=1)
            ax.set_title(f"change x{1 / scale:.1f}\nL2 {float(r['l2'][j]):.2f}", fontsize=8, pad=2)
            ax.set_axis_off()
            reached = bool(r["reached"][j])
            draw_image(axes[2, j], r["images"][j, 0].numpy(),
                       f"-> {classes[int(r['predicted'][j])]}" + ("" if reached else f"\nnot {classes[target]}"),
                       colour="black" if reached else "tab:red")
        bar = fig.colorbar(change, ax=axes, ticks=[-1, 0, 1], shrink=0.4, aspect=40, orientation="horizontal")
        bar.ax.set_xticklabels(["-1: lowered most", "0: unchanged", "+1: raised most"], fontsize=8)
        fig.suptitle(title, fontsize=9)
        figs.append(fig)
    return figs


def correlation_axes(axes, numbers: dict) -> None:
    """The randomisation figures' panels, one per network ({network: {"images": n}}): the 0.5 line,
    zero, the title, the shared y axis and one legend."""
    for ax, (network, n) in zip(axes, numbers.items()):
        ax.axhline(0.5, color="gray", ls="--", lw=1)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_title(f"{network}: {n['images']} test images", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("rank correlation")
    axes[0].set_ylim(-0.3, 1.05)
    axes[-1].legend(fontsize=8, loc="upper right")


def randomisation_grid(numbers: dict, structure: bool) -> tuple[Figure, np.ndarray]:
    """The randomisation figures' panels: a column per network, rank correlations above and, with
    `structure`, SSIM in a row below (its axes: zero, grid, a shared y axis)."""
    fig = Figure(figsize=(12, 8.4 if structure else 5.2), layout="constrained")
    grid = np.atleast_2d(fig.subplots(2 if structure else 1, len(numbers), sharey="row", sharex="col",
                                      squeeze=False))
    if structure:
        for ax in grid[1]:
            ax.axhline(0, color="black", lw=0.6)
            ax.grid(alpha=0.3)
        grid[1, 0].set_ylabel("SSIM")
        grid[1, 0].set_ylim(-0.1, 1.05)
    return fig, grid


def measures_note(structure: bool) -> str:
    """What the rows of a randomisation figure show, for its title (nothing to add without SSIM)."""
    return ("; above: rank correlation of |map| (mean; band: 10th-90th percentile over the images); below: SSIM of "
            "the maps, each scaled to [0, 1] (mean)" if structure else "")


def cascade_figure(numbers: dict) -> Figure:
    """Per network, each method's mean rank correlation with its trained map as the layers are
    re-drawn from the logits down (x: the lowest layer re-drawn so far), the band the 10th-90th
    percentile over the images."""
    structure = all("ssim" in n for n in numbers.values())
    fig, grid = randomisation_grid(numbers, structure)
    for col, (_network, n) in enumerate(numbers.items()):
        x = np.arange(len(n["layers"]))
        for k, (method, values) in enumerate(n["correlation"].items()):
            low, high = np.asarray(n["spread"][method]).T
            grid[0, col].plot(x, values, "o-", color=f"C{k}", label=method, ms=4)
            grid[0, col].fill_between(x, low, high, color=f"C{k}", alpha=0.12)
            if structure:
                grid[1, col].plot(x, n["ssim"][method], "s-", color=f"C{k}", ms=4)
        grid[-1, col].set_xticks(x, [f"{name}" for name in n["layers"]], rotation=90)
        grid[-1, col].set_xlabel("re-drawn so far: from the logits down to this layer")
    correlation_axes(grid[0], numbers)
    fig.suptitle("Cascading randomisation (Adebayo et al. 2018): a map that keeps its ranking while the weights are "
                 "re-drawn shows the image, not what the network learned (dashed: 0.5)" + measures_note(structure),
                 fontsize=11)
    return fig


def randomisation_figure(numbers: dict) -> Figure:
    """Per network, each method's mean rank correlation with its trained map when one layer alone
    is re-drawn (x: that layer), and, apart on the right, for the network trained on shuffled
    labels; bands and bars: the 10th-90th percentile over the images."""
    structure = all("ssim" in n["independent"] for n in numbers.values())
    fig, grid = randomisation_grid(numbers, structure)
    for col, (_network, n) in enumerate(numbers.items()):
        x = np.arange(len(n["layers"]))
        apart = len(x) + 0.6
        for k, (method, values) in enumerate(n["independent"]["correlation"].items()):
            low, high = np.asarray(n["independent"]["spread"][method]).T
            grid[0, col].plot(x, values, "o-", color=f"C{k}", label=method, ms=4)
            grid[0, col].fill_between(x, low, high, color=f"C{k}", alpha=0.12)
            mean, (p10, p90) = n["labels"]["correlation"][method], n["labels"]["spread"][method]
            grid[0, col].errorbar(apart + 0.08 * (k - 2), mean, yerr=[[max(0.0, mean - p10)], [max(0.0, p90 - mean)]],
                                  fmt="D", color=f"C{k}", ms=5, capsize=2)  # a mean outside its band: no bar that side
            if structure:
                grid[1, col].plot(x, n["independent"]["ssim"][method], "s-", color=f"C{k}", ms=4)
                grid[1, col].plot([apart + 0.08 * (k - 2)], [n["labels"]["ssim"][method]], "D", color=f"C{k}", ms=5)
        for ax in grid[:, col]:
            ax.axvline(len(x) - 0.2, color="black", lw=0.6)
        grid[-1, col].set_xticks(list(x) + [apart], list(n["layers"]) + ["shuffled\nlabels"], rotation=90)
    correlation_axes(grid[0], numbers)
    fig.supxlabel("left of the line: the one layer re-drawn, every other as trained; right: the same architecture "
                  "trained on shuffled labels", fontsize=10)
    fig.suptitle("Independent-layer and data randomisation (Adebayo et al. 2018): a map that keeps its ranking "
                 "shows the image, not what the network learned (dashed: 0.5)" + measures_note(structure), fontsize=11)
    return fig


def sanity_figure(shown: dict, correlations: dict) -> Figure:
    """Left: for one image per network, each method's map of the trained network beside the map
    with the top layers re-drawn (signed, each scaled to its own 99th-percentile |value|);
    right: each method's mean rank correlation between the two, with its range over the images."""
    methods = list(next(iter(correlations.values())))
    fig = Figure(figsize=(14, 8.2), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[1.25, 1])
    axes = left.subplots(len(methods) + 1, 2 * len(shown), squeeze=False)
    for b, (network, s) in enumerate(shown.items()):
        for k in (0, 1):
            draw_image(axes[0, 2 * b + k], s["image"].numpy(), f"{network}: {s['class']}\n"
                       + ("trained" if k == 0 else "top layers re-drawn"), fontsize=8)
        for row, method in enumerate(methods, start=1):
            for k, key in enumerate(("trained", "redrawn")):
                m = s[key][method].numpy()
                scale = float(np.percentile(np.abs(m), 99)) or 1.0
                shown_map = axes[row, 2 * b + k].imshow(np.clip(m / scale, -1, 1), cmap="bwr", vmin=-1, vmax=1)
                axes[row, 2 * b + k].set_axis_off()
                if k == 0:
                    axes[row, 2 * b].set_title(method, fontsize=8, loc="left", pad=2)
    left.colorbar(shown_map, ax=axes, shrink=0.4, label="red raises the logit, blue lowers it\n(each map / its "
                  "99th-percentile |value|, clipped)")
    ax = right.subplots()
    width = 0.8 / len(correlations)
    for b, (network, per_method) in enumerate(correlations.items()):
        means = [np.mean(per_method[m]) for m in methods]
        low = [means[i] - min(per_method[m]) for i, m in enumerate(methods)]
        high = [max(per_method[m]) - means[i] for i, m in enumerate(methods)]
        pos = np.arange(len(methods)) + (b - (len(correlations) - 1) / 2) * width
        ax.barh(pos, means, height=width, xerr=[low, high], capsize=3, label=network, color=f"C{b}")
        for p, v, top in zip(pos, means, [max(per_method[m]) for m in methods]):
            ax.text(max(top, 0) + 0.03, p, f"{v:.2f}", va="center", fontsize=8)  # beyond the range bar
    ax.axvline(0.5, color="gray", ls="--", lw=1)
    ax.set_yticks(np.arange(len(methods)), methods)
    ax.invert_yaxis()
    ax.set_xlim(-0.2, 1.3)
    ax.set_xlabel("rank correlation of |map| over the garment:\ntrained against top layers re-drawn (mean;\nbars: "
                  "range "
                  "over the images)")
    ax.legend(fontsize=9, loc="upper right")
    ax.set_title("dashed: 0.5, the line between\n'changes' and 'keeps'", fontsize=9)
    fig.suptitle("Sanity check (Adebayo et al. 2018): do the maps depend on what the network learned? The classifier "
                 "layers are re-initialised and every map drawn again. " + CNN_TWO_VIEWS, fontsize=10)
    return fig


def explain_figure(network: str, examples: list[dict], images, maps: dict, numbers: dict) -> Figure:
    """One network's right and wrong predictions (columns): the image, then a row per method, each
    map on its own symmetric scale (its 99th-percentile |value|), with its share on the background."""
    n = len(examples)
    fig = Figure(figsize=PAGE_INCHES, layout="constrained")
    axes = np.asarray(fig.subplots(1 + len(maps), n, squeeze=False))
    for j, e in enumerate(examples):
        ok = e["true"] == e["pred"]
        draw_image(axes[0, j], images[j].numpy(), f"{e['true_name']}\n-> {e['pred_name']}",
                   colour="black" if ok else "tab:red")
        for r, (method, m) in enumerate(maps.items(), start=1):
            shown = axes[r, j].imshow(signed(m.numpy())[j], cmap="bwr", vmin=-1, vmax=1)
            axes[r, j].set_axis_off()
            share = 100 * numbers["background_share"][method][j]
            axes[r, j].set_title(f"{method}\n{share:.0f}% on background" if j == 0 else f"{share:.0f}% bg",
                                 fontsize=8, pad=2)
    scale_bar(fig, shown, axes, "-1: lowers the logit most", "+1: raises it most", across=True, middle="0: no effect")
    fig.suptitle(f"{network}: 4 correct predictions, then its 4 most confident mistakes (red), each explained by "
                 "integrated gradients from the black image and from a blurred copy, SmoothGrad and overlapping "
                 "occlusion, all of the predicted class's logit (each method's maps on one symmetric scale); "
                 "bg: share of |attribution| on the background", fontsize=9)
    return fig
