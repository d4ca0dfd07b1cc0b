"""Questions 8 and 9 drawn two ways from metrics.json's "questions": figures.pdf's landscape
pages, each with the question and its computed answer drawn in, and the typeset hand-in's column
(report_001.tex), where the answer is the text, the tables are booktabs tables and each figure is
drawn at the text's width. Every part is a pure function and every table a {title, columns, rows,
notes} dict, so both ways show the same numbers."""
import textwrap

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.transforms import offset_copy

from fmnist.core.pages import PAGE_INCHES as PAGE
from fmnist.core.pages import chunks
from fmnist.core.plotting import GRAY

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


def _table(ax, table: dict, widths: list[float], title: str = "", fontsize=8.5) -> None:
    """A table dict drawn into `ax` (a page's table), under `title` (default: the table's own)."""
    ax.axis("off")
    cells = ax.table(cellText=table["rows"], colLabels=table["columns"], loc="upper center", cellLoc="right",
                     colLoc="right", colWidths=widths)
    cells.auto_set_font_size(False)
    cells.set_fontsize(fontsize)
    cells.scale(1, 1.3)
    for col in range(len(table["columns"])):
        cells[0, col].set_text_props(fontweight="bold")
        cells[0, col].set_facecolor("#eeeeee")
    ax.set_title(title or table["title"], fontsize=10)


def networks_table(q8: dict) -> dict:
    """The two networks side by side: parameters, test accuracy and loss."""
    images = sum(r["images"] for r in q8["classes"])
    return {"title": f"Side by side ({images:,} test images)", "notes": [],
            "columns": ["network", "parameters", "test accuracy", "test loss"],
            "rows": [[n.upper(), f"{v['parameters']:,}", f"{v['accuracy']:.2f}%", f"{v['loss']:.4f}"]
                     for n, v in q8["networks"].items()]}


def sharing_table(q8: dict) -> dict:
    """Per conv layer, the parameters of a convolution, a locally connected and a dense layer with its outputs."""
    share = q8["weight_sharing"]
    shape = lambda s: "x".join(map(str, s))  # noqa: E731
    return {"title": "Parameters for the same outputs",
            "columns": ["layer", "kernel", "input -> output", "shared", "per position", "dense"],
            "rows": [[r["layer"], shape(r["kernel"]), f"{shape(r['input'])} -> {shape(r['output'])}",
                      f"{r['shared']:,}", f"{r['local']:,}", f"{r['dense']:,}"] for r in share],
            "notes": ["The convolution shares each kernel over all positions (shared); a locally connected layer has "
                      "one kernel per position (per position); a fully connected layer links every input value to "
                      "every output value (dense)" + ("." if any(r["bias"] for r in share) else
                                                       " (no biases: batch norm follows).")]}


def gains_axes(ax, q8: dict, sep: str = "\n") -> None:
    """Per-class test accuracy, CNN minus FFN, the largest gain on top, each bar with its images and
    each class's name and accuracies `sep` apart (a line break on the page, a space in the column)."""
    rows = q8["classes"][::-1]
    points = [r["points"] for r in rows]
    ax.barh(range(len(rows)), points, color=["tab:blue" if p >= 0 else "tab:red" for p in points])
    for i, (r, p) in enumerate(zip(rows, points)):  # right of the bar, or right of 0 for a loss
        ax.annotate(f"{r['gained_images']:+d} images", (max(p, 0), i), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [f"{r['class']}{sep}{r['ffn']:.1f}% -> {r['cnn']:.1f}%" for r in rows], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("test accuracy of the class: CNN minus FFN (points)")
    ax.set_xlim(min(0, min(points)) - 1, max(0, max(points)) * 1.35 + 1)
    ax.grid(axis="x", alpha=0.3)
    up, down = sum(p > 0 for p in points), sum(p < 0 for p in points)
    both = up and down  # the colours named only where both show
    legs = ([f"gains{' (blue)' if both else ''} on {up}"] if up else []) + \
        ([f"loses{' (red)' if both else ''} on {down}"] if down else [])
    ax.set_title(f"Where the CNN {' and '.join(legs) or 'neither gains nor loses'} of {len(points)} classes\n"
                 f"labels: FFN -> CNN accuracy\non each class's {rows[0]['images']:,} test images", fontsize=10)
    # three lines: two ran past the axes into the table beside them


def q8_gains_figure(q8: dict, answer: str, question: str) -> Figure:
    """Per-class accuracy, CNN minus FFN; the networks side by side; what weight sharing saves."""
    fig = Figure(figsize=PAGE, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.15, 1])
    left, right = top.subfigures(1, 2, width_ratios=[1, 1.25])
    gains_axes(left.subplots(), q8)
    upper, lower = right.subplots(2, 1, height_ratios=[1, 2.2])
    _table(upper, networks_table(q8), [0.2, 0.26, 0.27, 0.22])
    share = sharing_table(q8)
    _table(lower, share, [0.1, 0.1, 0.3, 0.16, 0.17, 0.17],
           textwrap.fill(share["title"] + ": " + share["notes"][0][0].lower() + share["notes"][0][1:-1], 75), 8)
    _answer(bottom, answer, question)
    return fig


def shifted_axes(axes, t: dict, shifted: list[np.ndarray]) -> None:
    """A test image moved right by each of the translation test's shifts (`shifted`, one per shift)."""
    for ax, s, image in zip(axes, t["shifts"], shifted):
        ax.imshow(image, cmap=GRAY, vmin=-1, vmax=1)
        ax.set_title(f"moved {s} px right", fontsize=9)
        ax.set_axis_off()


SHIFT_WORDS = "a test image moved right (the curve averages moves right, left, down and up); the uncovered border " \
              "is filled with {fill:g}, the black background (0 would be a grey bar no training image has)"


def translation_axes(curve, t: dict, shift_note: str = "") -> None:
    """Both networks' test accuracy against how far the images moved, each point labelled."""
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


def locality_axes(study, locality: dict | None, note: str) -> None:
    """The locality study: each network's accuracy on images and on scrambled pixels, seeds and intervals."""
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
    study.set_title("Locality: trained on images and on scrambled pixels" + (f"\n{textwrap.fill(note, 70)}" if note
                                                                             else ""), fontsize=9)


def q8_why_figure(q8: dict, shifted: list[np.ndarray], locality: dict | None, locality_note: str,
                  shift_note: str = "") -> Figure:
    """Accuracy against shift for both networks, an image moved right by each shift
    (`shifted`, one per shift), and the locality study's result."""
    t = q8["translation"]
    fig = Figure(figsize=PAGE, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 2.2])
    shifted_axes(np.atleast_1d(top.subplots(1, len(t["shifts"]))), t, shifted)
    top.suptitle(textwrap.fill("Top row: " + SHIFT_WORDS.format(fill=t["fill"]), 150), fontsize=9)
    curve, study = bottom.subplots(1, 2)
    translation_axes(curve, t, shift_note)
    locality_axes(study, locality, locality_note)
    return fig


def q8_column(q8: dict, shifted: list[np.ndarray], locality: dict | None, locality_note: str,
              shift_note: str) -> list:
    """Question 8 for a text column: the gains, locality and translation figures (each one's
    reading its title, which becomes the caption; the two shorter first, to share a page), then
    the two tables."""
    t = q8["translation"]
    gains = _column_figure(3.3)
    gains_axes(gains.subplots(), q8, sep="  ")
    gains.suptitle("Question 8: per-class test accuracy of the two networks.")
    moved = _column_figure(4.0)
    grid = moved.add_gridspec(2, len(t["shifts"]), height_ratios=[1, 2.4])
    shifted_axes([moved.add_subplot(grid[0, k]) for k in range(len(t["shifts"]))], t, shifted)
    translation_axes(moved.add_subplot(grid[1, :]), t)
    moved.suptitle(f"Question 8: translation. Top: {SHIFT_WORDS.format(fill=t['fill'])}. {shift_note}")
    local = _column_figure(3.0)
    locality_axes(local.subplots(), locality, "")
    local.suptitle(f"Question 8: locality. {locality_note}")
    return [gains, local, moved, networks_table(q8), sharing_table(q8)]


def _column_figure(inches: float) -> Figure:
    """A figure for a report's text column, `inches` tall there (reports.column.for_column sets its width)."""
    fig = Figure(figsize=(6.7, inches))
    fig.column_inches = inches
    return fig


def stages_table(q9: dict) -> dict:
    """Each stage of the CNN: shape, values, receptive field, zeros, linear probe and class purity,
    with what each column means as its note."""
    pct = lambda v: "-" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    s = q9["sizes"]
    control = any(r.get("probe_random") is not None for r in q9["stages"])  # an older metrics.json has none
    return {"title": "Each stage of the CNN (conv stages after pool, batch norm and ReLU)",
            "columns": ["stage", "shape", "values", "field (px)", "zeros", "linear probe"]
            + (["untrained"] if control else []) + ["class purity"],
            "rows": [[r["stage"], " x ".join(map(str, r["shape"])), f"{r['values']:,}",
                      f"{r['receptive_field']}x{r['receptive_field']}", pct(r["zeros"]), pct(r["probe"])]
                     + ([pct(r.get("probe_random"))] if control else []) + [pct(r["purity"])] for r in q9["stages"]],
            "notes": [
                "values: the numbers the stage passes on per image (channels x height x width). field: the receptive "
                "field, the input pixels that one value depends on (from kernel sizes, strides and pools). zeros: "
                f"share of the stage's values that are 0 on {s['probe_test']:,} test images. linear probe: test "
                f"accuracy of a logistic regression on the stage's values ({s['probe_train']:,} training images, "
                f"{s['probe_test']:,} test images, 100 per class, standardised)"
                + ("; untrained: the same probe on the same architecture with the random weights it starts from, "
                   "the control" if control else "") + ". class purity: per channel, the share "
                f"of its {s['purity_top']} most exciting test images that come from one class, averaged over live "
                "channels" + (f" ({100 * s['purity_chance']:.0f}% for random responses)." if s.get("purity_chance")
                              else ".")]}


def stages_axes(ax, rows: list[dict]) -> None:
    """Linear probe accuracy, class purity and sparsity from the pixels to the hidden layer."""
    x = np.arange(len(rows))
    for key, label, style in (("probe", "linear probe accuracy", "o-"),
                              ("probe_random", "linear probe, untrained network (control)", "o:"),
                              ("purity", "class purity of top images", "s--"), ("zeros", "zeros (sparsity)", "^:")):
        values = [np.nan if r.get(key) is None else 100 * r[key] for r in rows]
        if not all(np.isnan(values)):  # an older metrics.json has no control
            ax.plot(x, values, style, label=label, **({"color": "0.5"} if key == "probe_random" else {}))
    short = {"input": "pixels", "relu_fc1": "fc1"}
    ax.set_xticks(x, [f"{short.get(r['stage'], r['stage'].replace('relu', 'conv '))}\nfield {r['receptive_field']}"
                      for r in rows], fontsize=8)
    ax.set_ylabel("percent (see the legend)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("From pixels to the hidden layer", fontsize=10)


def q9_stages_figure(q9: dict, answer: str, question: str) -> Figure:
    """The stage table and the probe, purity and sparsity curves, with the answer."""
    fig = Figure(figsize=PAGE, layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[0.66, 1])  # the answer: nine points, some of three lines
    left, right = top.subplots(1, 2, width_ratios=[1.6, 1])
    table = stages_table(q9)
    widths = [0.1, 0.16, 0.1, 0.13, 0.09, 0.17] + [0.14] * (len(table["columns"]) - 7) + [0.16]  # the control's
    _table(left, table, [w / sum(widths) for w in widths], fontsize=8)
    left.text(0.0, 0.4, textwrap.fill(table["notes"][0], 110), fontsize=8, va="top", transform=left.transAxes)
    stages_axes(right, q9["stages"])
    _answer(bottom, answer, question)
    return fig


PATCH_ROWS = 6  # channels at most per page of question 9's patches
NOTE_CHARS = int(9.8 * 72 / (0.55 * 8.5))  # a stage's reading under its patches: 9.8 in at 8.5 pt (a character 0.55 em)
PATCH_TITLE = ("What {stage} detects: {which} channels with the highest mean strongest response on {test:,} test "
               "images; for each, the test images that excite it most, cropped to the stage's receptive "
               "field around the strongest position (above each framed patch: the image's class and the channel's "
               "response; black beyond the image's edge)")


def patches_figure(rows: list[tuple[dict, dict]], cols: int, size: tuple[float, float], margins: tuple,
                   readings: dict, sep: str = " ") -> Figure:
    """Rows of (stage, channel): the channel's top patches, each framed, its name to the left and
    its reading (`readings`, (stage, channel) -> words) to the right, above each patch its image's
    class and the channel's response `sep` apart, placed by `margins` (left,
    right, bottom, top, in inches; a fixed layout: with one axes per patch the layout solver and
    the drawing would cost a second more)."""
    width, height = size
    left, right, bottom, top = margins
    fig = Figure(figsize=size)
    grid = fig.add_gridspec(max(len(rows), PATCH_ROWS - 2), 1, left=left / width, right=1 - right / width,
                            bottom=bottom / height, top=1 - top / height, hspace=0.5)
    for r, (st, ch) in enumerate(rows):
        side, gap = st["receptive_field"], max(1, st["receptive_field"] // 2)  # room for a class name over each
        mosaic = np.full((side, cols * (side + gap) - gap), np.nan)
        ax = fig.add_subplot(grid[r])
        for j, p in enumerate(ch["patches"]):
            at = j * (side + gap)
            mosaic[:, at:at + side] = np.asarray(p["pixels"], dtype=float).reshape(side, side)
            ax.add_patch(Rectangle((at - 0.5, -0.5), side, side, fill=False, edgecolor="#1f4e9a", lw=1.2))
            ax.text(at + side / 2 - 0.5, -0.9, f"{p['class']}{sep}{p['activation']:.1f}", ha="center", va="bottom",
                    fontsize=8)
        ax.imshow(np.ma.masked_invalid(mosaic), cmap=GAPPED, vmin=0, vmax=255, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
        ax.set_ylabel(f"{st['stage']}\nch {ch['channel']}\n{side}x{side} px", fontsize=9, rotation=0, ha="right",
                      va="center")
        ax.text(1.03, 0.5, readings.get((st["stage"], ch["channel"]), ""), transform=ax.transAxes, fontsize=8,
                va="center", ha="left")
    return fig


def _most_patches(q9: dict) -> int:
    """The patches of the channel with the most: the columns of every row of question 9's patches."""
    return max(len(ch["patches"]) for st in q9["patches"] for ch in st["channels"])


def q9_patches_figures(q9: dict, readings: dict | None = None, notes: dict | None = None) -> list[Figure]:
    """For each conv stage, a few channels and the test-image patches that excite them most: one
    row per channel, the row's reading to its right, at most PATCH_ROWS rows to a page and a stage
    on one page where it fits; under the rows, each stage's reading on the page (`notes`, stage ->
    words)."""
    cols = _most_patches(q9)
    pages = [[]]
    for st in q9["patches"]:  # a stage's rows kept on one page, unless they fill more than one
        rows = [(st, ch) for ch in st["channels"]]
        if pages[-1] and len(pages[-1]) + len(rows) > PATCH_ROWS:
            pages.append([])
        pages[-1] += rows
    figs = []
    for chunk in [part for stage in pages for part in chunks(stage, PATCH_ROWS)]:
        said = textwrap.fill(" ".join(notes[st] for st in dict.fromkeys(st["stage"] for st, _ in chunk)
                                      if (notes or {}).get(st)), NOTE_CHARS)
        tall = (said.count("\n") + 1) * 8.5 * 1.25 / 72 if said else 0.0  # inches: its lines at 8.5 pt
        fig = patches_figure(chunk, cols, PAGE, (1.3, 3.1, 0.4 + (tall + 0.3 if said else 0), 2.15), readings or {})
        if said:  # under the rows, as tall as its lines, 0.4 in above the page's edge
            fig.text(0.6 / PAGE[0], (0.4 + tall) / PAGE[1], said, fontsize=8.5, va="top")
        fig.suptitle(PATCH_TITLE.format(stage="each conv stage", which="per stage, the", test=q9["sizes"]["probe_test"])
                     + "; right of each row, measured over the test images: the region of the garment the channel "
                     "favours (its share of the response and of the pixels), its patches' edges, how busy they are "
                     "(mean gradient per pixel against the stage's median channel), the third of the garment's height "
                     "they sit in and their classes",
                     fontsize=9, y=1 - 0.35 / PAGE[1], va="top")  # the page wraps it
        figs.append(fig)
    return figs


def q9_column(q9: dict, readings: dict, notes: dict | None = None) -> list:
    """Question 9 for a text column: the stage curves, one figure of patches per conv stage, each
    followed by its stage's reading ({"text": notes[stage]}), then the stage table and a table of
    the channels' readings (`readings`, (stage, channel) -> the region, edge and class words)."""
    curves = _column_figure(2.7)
    stages_axes(curves.subplots(), q9["stages"])
    curves.suptitle("Question 9: what each stage of the CNN holds, from the pixels to the hidden layer.")
    blocks = []  # per conv stage: its patches, then its reading
    for st in q9["patches"]:
        rows = [(st, ch) for ch in st["channels"]]
        inches = 1.15 * len(rows) + 0.35
        fig = patches_figure(rows, _most_patches(q9), (6.7, inches), (0.95, 0.05, 0.05, 0.3), {}, sep="\n")
        fig.suptitle("Question 9. " + PATCH_TITLE.format(stage=st["stage"], which=f"its {len(rows)}",
                                                         test=q9["sizes"]["probe_test"]) + ".")
        fig.column_inches = inches
        blocks.append([fig] + ([{"text": [notes[st["stage"]]]}] if (notes or {}).get(st["stage"]) else []))
    said = [readings[(st["stage"], ch["channel"])] for st in q9["patches"] for ch in st["channels"]
            if (st["stage"], ch["channel"]) in readings]
    read = {"title": "What each channel of the figures favours, measured over the test images",
            "columns": ["stage", "channel", *(said[0] if said else [])],
            "rows": [[st["stage"], str(ch["channel"]), *readings[(st["stage"], ch["channel"])].values()]
                     for st in q9["patches"] for ch in st["channels"] if (st["stage"], ch["channel"]) in readings],
            "notes": []}
    # the stage table before the last stage's patches: in the column it fills the page the stage before leaves
    return ([curves] + [v for block in blocks[:-1] for v in block] + [stages_table(q9)] + (blocks[-1] if blocks else [])
            + ([read] if read["rows"] else []))
