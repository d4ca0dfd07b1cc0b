"""Class-averaged gradient maps (analyze.py): for each class, the gradient of the class's logit
with respect to the image, averaged over the class's correctly classified test images, beside the
same average through a copy of the network with every layer re-drawn (what the architecture and
the images give without the training) and through a network of the same architecture trained on
shuffled labels (what training gives without the classes: the stronger control).

One image's gradient is noisy and says little about a class; the average over a class says which
pixels raise the class's logit on that class's images in general. It is read against the data:
its correlation with the class's particular pattern (its mean test image minus the mean of every
test image), and whether it correlates with its own class's pattern more than with any other's.
"""
import numpy as np
import torch

from fmnist.analysis import attribution, pattern_figures
from fmnist.analysis.from_noise import paired_p
from fmnist.core.data import CLASSES
from fmnist.core.metrics import class_patterns, pattern_correlation
from fmnist.core.pages import Page
from fmnist.core.words import listing

PER_CLASS = 100  # correctly classified test images a class, the first ones


def class_averaged(model, x: torch.Tensor, y: torch.Tensor, right: torch.Tensor, device,
                   per_class: int = PER_CLASS) -> tuple[torch.Tensor, list[int]]:
    """(classes, 1, H, W): each class's mean d logit(class) / d image over its first `per_class`
    test images that `right` marks correctly classified; and how many images each mean took."""
    maps, counts = [], []
    for k in range(int(y.max()) + 1):
        idx = ((y == k) & right).nonzero().flatten()[:per_class]
        if not len(idx):  # nothing of the class classified correctly: no map (zeros, counted 0)
            maps.append(torch.zeros_like(x[:1, ...]).squeeze(0))
            counts.append(0)
            continue
        grads = attribution.logit_gradient(model, x[idx].to(device), torch.full((len(idx),), k, device=device))
        maps.append(grads.mean(0).cpu())
        counts.append(len(idx))
    return torch.stack(maps), counts


def read(maps: torch.Tensor, patterns: np.ndarray, counts: list[int]) -> dict:
    """Each class map's correlation with its own class's pattern (`patterns`: metrics.class_patterns
    of the test images), and with which class's pattern it correlates most; a class with no map
    (`counts` 0) is left out of both (None) and of the count."""
    r = pattern_correlation(maps.double(), patterns)
    looks = r.argmax(1).tolist()
    have = [k for k in range(len(maps)) if counts[k]]
    return {"own_correlation": [float(r[k, k]) if counts[k] else None for k in range(len(maps))],
            "looks_like": [looks[k] if counts[k] else None for k in range(len(maps))],
            "own": sum(looks[k] == k for k in have), "measured": len(have), "classes": list(range(len(maps)))}


def sign_p(trained: dict, control: dict) -> float:
    """One-sided p, the class as the unit, that more of the trained maps point at their own class's
    pattern than the control's: from_noise.paired_p on each class's 0 or 1 (an exact sign test),
    over the classes both have a map for."""
    have = [k for k, (a, b) in enumerate(zip(trained["looks_like"], control["looks_like"]))
            if a is not None and b is not None]
    share = lambda n: [float(n["looks_like"][k] == k) for k in have]  # noqa: E731
    return paired_p({"own_share": share(trained)}, {"own_share": share(control)})


def averaged_words(network: str, trained: dict, control: dict, shuffled: dict | None = None) -> str:
    """The trained network's class-averaged maps beside the re-drawn copy's and, where given, beside
    those of the same architecture trained on shuffled labels (the stronger control: a network that
    learned, but not the classes), each by a one-sided sign test over the classes, from their numbers."""
    values = lambda n: [v for v in n["own_correlation"] if v is not None]  # noqa: E731
    med = lambda n: float(np.median(values(n)))  # noqa: E731
    missing = len(trained["classes"]) - trained["measured"]
    against = [CLASSES[k] for k, v in enumerate(trained["own_correlation"]) if v is not None and v < 0]
    controls = [("every layer re-drawn", control)]
    if shuffled is not None:
        controls.append((f"trained on {shuffled['trained_on']:,} images with shuffled labels", shuffled))
    said = [f"{what}, {n['own']} of {n['measured']} (median r = {med(n):.2f}; "
            + ("the trained network's ahead" if p < 0.05 else "no difference detected") + f", p = {p:.2g})"
            for what, n in controls for p in [sign_p(trained, n)]]
    return (f"{network}: averaged over each class's correctly classified test images, the gradient of the class's "
            f"logit correlates with its own class's pattern at a median r = {med(trained):.2f} (range "
            f"{min(values(trained)):.2f} to {max(values(trained)):.2f}), and with it more than with any other "
            f"class's for {trained['own']} of {trained['measured']} classes (chance: 1)"
            + (f" ({missing} with no correctly classified image left out)" if missing else "")
            + (f"; negatively with its own for {listing(against)}" if against else "")
            + ". The same architecture (one-sided sign test over the classes where the two differ): "
            + "; ".join(said) + ".")


def averaged_part(models: dict, x: torch.Tensor, y: torch.Tensor, logits: dict, device,
                  seed: int = 0, shuffled_nets: dict | None = None) -> tuple[dict, Page]:
    """Both networks' class-averaged gradients beside their every-layer-re-drawn copies' and, where
    `shuffled_nets` gives them (randomisation.shuffled_networks), beside those of networks trained
    on shuffled labels, on the same images; one page."""
    numbers, rows = {"per_class": PER_CLASS}, []
    patterns = class_patterns(x.double(), y)  # once: every set of maps is read against them
    for key, (_label, model) in models.items():
        right = logits[key].argmax(1) == y
        nets = [("trained", model), ("re-drawn", attribution.redrawn(model, seed))]  # every layer re-drawn
        if shuffled_nets and key in shuffled_nets:
            nets.append(("shuffled labels", shuffled_nets[key][0]))
        made = {}
        for name, net in nets:
            maps, counts = class_averaged(net, x, y, right, device)
            made[name] = maps
            numbers.setdefault(key, {})[name] = {**read(maps, patterns, counts), "images": counts}
        if "shuffled labels" in made:
            numbers[key]["shuffled labels"]["trained_on"] = shuffled_nets[key][1]["images"]
        numbers[key]["sentence"] = averaged_words(key.upper(), numbers[key]["trained"], numbers[key]["re-drawn"],
                                                  numbers[key].get("shuffled labels"))
        rows += [(f"{key.upper()}\n{name}", maps[:, 0].numpy(), numbers[key][name]) for name, maps in made.items()]
    numbers["sentence"] = " ".join(numbers[k]["sentence"] for k in models)
    return numbers, Page("class_averaged_gradients", "Class-averaged gradients (FFN, CNN)", numbers["sentence"],
                         pattern_figures.averaged_figure(patterns.reshape(-1, *x.shape[-2:]), rows, CLASSES, PER_CLASS,
                                                 getattr(models.get("cnn", (None, None))[1], "flip_tta", False)))
