"""Spec 000's items on what the reference network sees (1.3.8-1.3.10): its first-layer filters
against random kernels, guided backpropagation on its last conv layer, and fooling."""
import numpy as np

from fmnist.core import plotting
from fmnist.core.words import listing
from fmnist.reports.build import kernel_words
from fmnist.reports.column import TEXT_INCHES
from fmnist.studies import reference
from fmnist.studies.study import planned


def best_model(src) -> dict:
    """The reference study's best run (reference.best_run), the model every item reads."""
    return reference.best_run(planned(src.studies["reference"]))


def filter_patterns(filters: np.ndarray) -> dict:
    """Counts of the 3x3 filters by pattern: same-sign blobs against mixed-sign (edge-like)
    ones, and each edge-like filter's orientation by its largest correlation with a vertical,
    horizontal or diagonal edge template (Sobel-like)."""
    templates = {
        "vertical": np.array([[-1, 0, 1]] * 3, float),
        "horizontal": np.array([[-1] * 3, [0] * 3, [1] * 3], float),
        "diagonal /": np.array([[0, 1, 1], [-1, 0, 1], [-1, -1, 0]], float),
        "diagonal \\": np.array([[1, 1, 0], [1, 0, -1], [0, -1, -1]], float),
    }
    out = {"filters": len(filters), "blob": 0, "edge": 0, **{k: 0 for k in templates}}
    for w in filters:
        w = np.asarray(w, float) - 0.0
        if abs(w.sum()) > 0.5 * np.abs(w).sum():
            out["blob"] += 1
            continue
        out["edge"] += 1
        z = (w - w.mean()) / (w.std() + 1e-12)
        corr = {k: abs(float((z * (t - t.mean()) / t.std()).mean())) for k, t in templates.items()}
        out[max(corr, key=corr.get)] += 1
    return out


RANDOM_DRAWS = 200  # stacks of Gaussian kernels the filter counts are set against


def filters(src) -> str:
    kernels = np.asarray(best_model(src)["extras"]["first_filters"])
    p = filter_patterns(kernels)
    kinds = sorted(("vertical", "horizontal", "diagonal /", "diagonal \\"), key=lambda k: -p[k])
    rng = np.random.default_rng(0)
    drawn = [filter_patterns(rng.standard_normal(kernels.shape)) for _ in range(RANDOM_DRAWS)]
    span = {k: np.percentile([d[k] for d in drawn], [2.5, 97.5]) for k in ("blob", *kinds)}
    low, high = span["blob"]
    where = "more than" if p["blob"] > high else "fewer than" if p["blob"] < low else "as many as"
    beyond = [f"{k} ({p[k]}, random {span[k][0]:.0f}-{span[k][1]:.0f})" for k in kinds
              if not span[k][0] <= p[k] <= span[k][1]]
    return (f"Of the {p['filters']} CONV1 filters, {p['blob']} are same-signed blobs (the sum of the weights is more "
            f"than half the sum of their sizes: they respond to brightness) and {p['edge']} mix signs, like edge "
            f"detectors. By their closest edge template the edge-like ones are " + ", ".join(
                f"{p[k]} {k}" for k in kinds) + ". Against chance, "
            f"{len(kernels)} kernels of independent Gaussian taps ({RANDOM_DRAWS} draws, 95 % ranges) give "
            f"{low:.0f}-{high:.0f} blobs, so {p['blob']} is {where} random kernels give; "
            + (f"outside their range: {listing(beyond)}" if beyond else
               "every direction's count is within what random kernels give it, so no direction is preferred") + ". "
            "In the filters, "
            + kernel_words(kernels) + " (Measured on the best model's filters; the grid shows each scaled to its own "
            "range.)")


def guided(src) -> str:
    """1.3.9 from the reference study's finish: the best model's channels, chosen on validation and
    described on test, with their controls, and what each channel's images and maps show."""
    g = src.studies[reference.STUDY.name]["finish"]["guided"]
    rows = g["rows"]
    pure, mixed = [], []
    for r in rows:
        top = max(dict.fromkeys(r["classes"]), key=r["classes"].count)
        if r["classes"].count(top) == len(r["classes"]) and top == r["picked_for"]:
            pure.append(r["picked_for"])
        else:
            counts = ", ".join(f"{r['classes'].count(c)} {c}" for c in sorted(dict.fromkeys(r["classes"]),
                                                                          key=lambda c: -r["classes"].count(c)))
            mixed.append(f"for {r['picked_for']}: {counts}")
    reading = (f" Each channel's {len(rows[0]['classes'])} most exciting test images are all of its class for "
               f"{listing(pure) if pure else 'none of them'}" + (f"; {'; '.join(mixed)}" if mixed else "") + ".")
    return ("On the best model's last conv layer (spec 000's CONV5 has no counterpart: its network has four). "
            + reference.guided_sentence(g)
            + reading)


def guided_figure(src) -> list:
    """1.3.9's figure: every channel in one figure drawn for the column."""
    g = src.studies[reference.STUDY.name]["finish"]["guided"]
    title = (f"Guided backpropagation on {len(g['rows'])} channels of CONV4 (features.{g['stage']}) of the best model: "
             f"each row a channel's {len(g['rows'][0]['images'])} most exciting test images, each beside d channel / d "
             "pixel (red raises the channel). At left: the channel, the class it was chosen for, that class's share of "
             "its 20 most exciting test images (of the validation images, where it was chosen) and, where its maps "
             "sit in one quarter of the image, which and how much.")
    return plotting.guided_figures(reference.guided_rows(g), title, per_page=len(g["rows"]), width=TEXT_INCHES)


def fooling_figure(src) -> list:
    """1.3.10's curves, drawn again from analysis.json (the examples of analysis.pdf's page left out)."""
    f = src.analysis["fooling"]
    return [plotting.fooling_figure(f["counts"], {k.upper(): f[k]["random_accuracy"] for k in ("ffn", "cnn")},
                                    {k.upper(): f[k]["greedy_accuracy"] for k in ("ffn", "cnn")}, f["greedy_note"],
                                    f["random_note"], {})]


def fooling(src) -> str:
    f = src.analysis["fooling"]
    out = []
    zero, halves = {}, {}
    for key in ("ffn", "cnn"):
        g = f[key]["greedy_accuracy"]
        zero[key] = next((k for k, v in enumerate(g) if v == 0), None)
        share = lambda q: next((k for k, v in enumerate(g) if v <= (1 - q) * g[0]), None)  # noqa: E731
        half, most = share(0.5), share(0.9)
        halves[key] = half
        n = f.get("greedy_images")
        reach = (f"the last falls at {zero[key]} pixels, a number one image sets" if zero[key] is not None else
                 f"{100 * g[-1]:.1f}% are still right at {len(g) - 1} pixels")
        out.append(f"{key.upper()}: greedy attack{f' on {n:,} test images' if n else ''}, {100 * g[0]:.1f}% right "
                   f"before and {100 * g[1]:.1f}% after 1 pixel; "
                   + (f"half the right ones are wrong by {half} pixels" if half is not None else "")
                   + (f" and 90 % by {most}" if most is not None else "") + f"; {reach}. "
                   f"Random pixels leave {100 * f[key]['random_accuracy'][-1]:.1f}% at {f['counts'][-1]} pixels.")
    if f.get("greedy_note"):
        out.append(f"The greedy attack runs on {f['greedy_note']}; the random one on {f['random_note']}.")
    words = []
    if None not in halves.values() and halves["ffn"] != halves["cnn"]:
        fewer = min(halves, key=halves.get)
        other = "cnn" if fewer == "ffn" else "ffn"
        words.append(f"the greedy attack turns half the {fewer.upper()}'s right images with fewer pixels "
                     f"({halves[fewer]} against {halves[other]})")
    left = {key: 100 * f[key]["random_accuracy"][-1] for key in ("ffn", "cnn")}
    if abs(left["ffn"] - left["cnn"]) >= 1:
        hurt = min(left, key=left.get)
        other = "cnn" if hurt == "ffn" else "ffn"
        contrast = " by contrast" if words and hurt != fewer else ""
        words.append(f"random pixels{contrast} hurt the {hurt.upper()} more ({left[hurt]:.1f}% left against "
                     f"{left[other]:.1f}% at {f['counts'][-1]} pixels)")
    if words:
        out.append("On these two trained networks (one seed each: a measurement over images, not a verdict on the "
                   "architectures), " + "; ".join(words) + ".")
    return "\n".join(out)
