"""analysis.pdf's synthesis, on its first page: what each network relies on, one computed line per
kind of evidence (where its gradient falls, how its features group the classes, what an attack
costs it, how far it is from being fooled, whether its maps pass the randomisation tests), each
beside its control and read from analysis.json's numbers alone."""
import numpy as np

from fmnist.analysis.from_noise import beyond as noise_beyond
from fmnist.analysis.saliency import ALIKE, garment_ratio, garment_ratios
from fmnist.core import stats
from fmnist.core.words import listing

NETWORKS = {"ffn": "FFN", "cnn": "CNN"}
ONE_EACH = "one trained network each: these two networks, not a verdict on their architectures"


def evidence(saliency: dict) -> str:
    """Where each network's gradient falls: per image, the share of |gradient| on the garment over the
    garment's share of the pixels (1 is what a map spread evenly gives), its median and interval;
    beside it the same through a copy with every layer re-drawn (the control), and the two networks
    paired image by image (the median per-image difference and its interval)."""
    parts, control = [], []
    for key, name in NETWORKS.items():
        r, sign = garment_ratio(saliency[key])
        side = {1: "above 1", -1: "below 1", 0: "not told apart from 1"}[sign]
        span = "" if r["low"] is None else f", 95 % interval {r['low']:.2f}-{r['high']:.2f}"
        parts.append(f"{side} for the {name} (median {r['mean']:.2f}{span})")
        if "redrawn_on_garment" in saliency[key]:
            c, _ = garment_ratio(saliency[key], on="redrawn_on_garment")
            control.append(f"{name} {c['mean']:.2f}")
    line = ("Sensitivity: per image, the share of the predicted class's |gradient| on the garment over the garment's "
            f"share of the pixels (1: an even spread) is {' and '.join(parts)}")
    if control:
        line += f"; with every layer re-drawn (the control): {' and '.join(control)}"
    ratios = {key: garment_ratios(saliency[key]) for key in NETWORKS}
    if len(ratios["ffn"]) == len(ratios["cnn"]) > 2:
        d = stats.median_interval([a - b for a, b in zip(ratios["ffn"], ratios["cnn"])])
        who = ("the FFN's larger" if d["low"] > 0 else "the CNN's larger" if d["high"] < 0 else
               "no difference detected")
        line += (f"; FFN minus CNN, paired by image: median {d['mean']:+.2f} (95 % CI {d['low']:+.2f} to "
                 f"{d['high']:+.2f}, {len(ratios['ffn']):,} images): {who}")
    return line + "."


def grouping(tsne: dict) -> str:
    """How each network's last hidden layer groups the test images: the share of each image's 10
    nearest neighbours (in the features themselves) that share its class, against the raw pixels'."""
    raw = tsne["raw_pixels"]["features"]
    shares = {NETWORKS[k]: v["features"] for k, v in tsne.get("networks", {}).items()}
    if not shares:
        return ""
    above = [n for n, v in shares.items() if v > raw]
    below = [n for n, v in shares.items() if v <= raw]
    said = " and ".join(f"{100 * v:.0f} % for the {n}" for n, v in shares.items())
    return (f"Grouping: of each test image's 10 nearest neighbours in the last hidden layer, {said} share its class, "
            f"against {100 * raw:.0f} % in the raw pixels (the control)"
            + (f": {listing(['the ' + n for n in above])} group{'s' * (len(above) == 1)} the classes more than the "
               "pixels do" if above else "")
            + (f"{'; ' if above else ': '}{listing(['the ' + n for n in below])} no more than the pixels"
               if below else "") + ".")


def attacks(robustness: dict, eps: float = 0.05) -> str:
    """What a change of `eps` of the pixel range (or the nearest size measured) leaves of each
    network's accuracy under FGSM and PGD, beside its accuracy unchanged."""
    sizes = robustness["epsilons"]
    k = min(range(len(sizes)), key=lambda i: abs(sizes[i] - eps) if sizes[i] > 0 else np.inf)
    acc = robustness["accuracy"]
    kept = {n: acc["PGD"][n][k] for n in NETWORKS.values()}
    more = max(kept, key=kept.get)
    same = len(set(kept.values())) == 1
    return (f"Attacks: a change of at most {sizes[k]:g} of the pixel range leaves, under PGD, "
            + " and ".join(f"the {n} {100 * v:.1f} %" for n, v in kept.items())
            + " (under FGSM " + " and ".join(f"{100 * acc['FGSM'][n][k]:.1f} %" for n in kept)
            + "; unchanged " + " and ".join(f"{100 * acc['FGSM'][n][0]:.1f} %" for n in kept) + ")"
            + (": the two keep the same share" if same else f": the {more} keeps the larger share under the stronger "
               f"attack ({ONE_EACH})") + ".")


def fooled(targeted: dict) -> str:
    """How large a change fools each network into a chosen class: the median difference in L2 (CNN
    minus FFN) over the images both were fooled on, paired by image, with its interval."""
    d, cnn, ffn = targeted["l2_median_difference"], targeted["cnn"], targeted["ffn"]
    medians = f"median L2 {cnn['median_l2']:.2f} for the CNN, {ffn['median_l2']:.2f} for the FFN"
    if not d or d.get("low") is None:  # fewer than 2 images fooled both networks
        return f"Fooling: {medians}, too few images fooled both networks for an interval."
    span = f"median paired difference {d['mean']:+.2f}, 95 % CI {d['low']:+.2f} to {d['high']:+.2f}, {d['n']} images"
    if stats.excludes_zero(d):
        smaller = "CNN" if d["high"] < 0 else "FFN"
        return f"Fooling: the {smaller} is fooled into a chosen class by the smaller change ({medians}; {span})."
    return f"Fooling: no difference detected in the change that fools either network ({medians}; {span})."


def sanity(cascade: dict, randomisation: dict) -> str:
    """Which attribution methods keep the trained map's ranking (rank correlation >= ALIKE) under any
    randomisation test, per network, and under which: the top layers re-drawn in the cascade (down to
    the deepest step it survives), every layer re-drawn, a layer re-drawn alone, shuffled labels. A
    method that keeps it under none reads what the network learned."""
    parts = []
    for key, name in NETWORKS.items():
        c, r = cascade[key], randomisation[key]
        kept = {}
        for m, steps in c["correlation"].items():
            why = []
            if steps[-1] >= ALIKE:
                why.append("every layer re-drawn")
            elif steps[0] >= ALIKE:
                deepest = max(k for k, v in enumerate(steps) if v >= ALIKE)  # the cascade re-draws from the top
                why.append(f"the top layer ({c['layers'][0]}) re-drawn" if deepest == 0 else
                           f"the layers from the logits down to {c['layers'][deepest]} re-drawn")
            alone = [r["layers"][k] for k, v in enumerate(r["independent"]["correlation"][m]) if v >= ALIKE]
            if alone:
                why.append(f"{'one of ' if len(alone) > 1 else ''}{listing(alone)} re-drawn alone")
            if r["labels"]["correlation"][m] >= ALIKE:
                why.append("shuffled labels")
            if why:
                kept[m] = why
        passed = [m for m in c["correlation"] if m not in kept]
        parts.append(f"for the {name}, " + (f"{listing(passed)} lose{'s' * (len(passed) == 1)} it under every test"
                                            if passed else "no method loses it under every test")
                     + "".join(f"; {m} keeps it with {listing(why)}" for m, why in kept.items()))
    return (f"Maps: a map that loses the trained map's ranking (rank correlation below {ALIKE}) under every "
            f"randomisation test reads what the network learned: {'. And '.join(parts)}.")


def from_noise(numbers: dict) -> str:
    """How many of each network's class images from noise look like their own class, beside an
    untrained network's under the same recipe and noise and beside chance (from_noise.beyond)."""
    nets = [(name, numbers[key]) for key, name in NETWORKS.items() if key in numbers]
    if not nets:
        return ""
    chance = nets[0][1]["trained"]["chance"]
    ahead = [f"the {name}" for name, n in nets if noise_beyond(n)]
    only = [f"the {name}" for name, n in nets if not noise_beyond(n) and n["trained"]["p"] < 0.05]
    none = [f"the {name}" for name, n in nets if n["trained"]["p"] >= 0.05]
    said = ([f"{listing(ahead)} beyond chance and beyond the untrained network"] if ahead else []) + (
        [f"{listing(only)} beyond chance but not told apart from the untrained network paired by class"] if only
        else []) + ([f"{listing(none)} no more than chance"] if none else [])
    return ("Optimised images: of the class images drawn from noise with no pull towards the data, "
            + " and ".join(f"{n['trained']['own']} of {n['trained']['images']} for the {name} (untrained "
                           f"{n['untrained']['own']})" for name, n in nets)
            + f" correlate most with their own class's pattern, where chance gives {chance:.2g} (each test at 5 %, the "
            "class as the unit): " + "; ".join(said) + ".")


def class_averaged(numbers: dict) -> str:
    """How many classes' averaged gradient points at their own class's pattern, per network, beside
    the copy with every layer re-drawn and the network trained on shuffled labels."""
    nets = [(name, numbers[key]) for key, name in NETWORKS.items() if key in numbers]
    if not nets:
        return ""
    return ("Class-averaged gradients: the gradient of a class's logit, averaged over its correctly classified test "
            "images, correlates with its own class's pattern more than any other's for "
            + " and ".join(f"{n['trained']['own']} of {n['trained']['measured']} classes for the {name} "
                           f"({n['re-drawn']['own']} with every layer re-drawn"
                           + (f", {n['shuffled labels']['own']} trained on shuffled labels" if "shuffled labels" in n
                              else "") + ")" for name, n in nets)
            + ", where chance gives 1.")


def synthesis_lines(results: dict) -> list[str]:
    """The synthesis: one line per kind of evidence that analysis.json holds."""
    lines = [evidence(results["saliency"]), grouping(results["tsne"]), attacks(results["robustness"]),
             fooled(results["targeted"])]
    if "averaged" in results:
        lines.append(class_averaged(results["averaged"]))
    if "from_noise" in results:
        lines.append(from_noise(results["from_noise"]))
    if "randomisation" in results:
        lines.append(sanity(results["cascade"], results["randomisation"]))
    return [line for line in lines if line]
