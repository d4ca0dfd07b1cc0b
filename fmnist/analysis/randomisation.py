"""The model and data randomisation tests of Adebayo et al. (2018) on the same images and methods,
each map of the trained network computed once: the cascade (the layers re-drawn one more at a time
from the logits down), each layer re-drawn alone, every other layer as trained (independent
randomisation), and a network of the same architecture trained on shuffled labels (data
randomisation). A map that stays alike under them shows the image more than what the network
learned; saliency.sanity_part is the quick check of the top layer alone."""
import copy

import numpy as np
import torch

from fmnist.analysis import attribution, figures
from fmnist.analysis.saliency import ALIKE, checked_images, garment
from fmnist.core import data
from fmnist.core.assignment import MODELS
from fmnist.core.pages import Page
from fmnist.core.training import TrainSettings, fit
from fmnist.core.words import listing


def shuffled_recipe(epochs: int) -> TrainSettings:
    """Memorising shuffled labels: Adam, no weight decay, label smoothing or mirroring, and the
    "validation" set the training set itself, so that the weights kept are those that fit it best."""
    return TrainSettings(epochs=epochs, batch_size=50, lr=3e-3, optimizer="adam", weight_decay=0.0,
                         label_smoothing=0.0, flip=False, patience=epochs)


def shuffled_labels(key: str, train: tuple, per_class: int, epochs: int, seed: int, device) -> tuple:
    """A fresh network of the assignment's architecture `key` trained on `per_class` training images
    a class whose labels are shuffled among them; returns (the network, {"images", "epochs",
    "memorised": its accuracy on the shuffled labels, "true_labels": on the same images' own labels})."""
    x, y = train
    idx = data.stratified(y, per_class, seed)
    xs, ys = x[idx], y[idx]
    shuffled = ys[torch.randperm(len(ys), generator=torch.Generator().manual_seed(seed))]
    torch.manual_seed(seed)
    model = MODELS[key]()
    fit(model, (xs, shuffled), (xs, shuffled), shuffled_recipe(epochs), device, seed, name=f"{key} shuffled",
        log=lambda *_a, **_k: None)
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(part.to(device)).argmax(1).cpu() for part in xs.split(500)])
    return model, {"images": len(ys), "epochs": epochs, "memorised": float((pred == shuffled).float().mean()),
                   "true_labels": float((pred == ys).float().mean()),
                   "labels_kept": float((shuffled == ys).float().mean())}


def shuffled_networks(models: dict, train: tuple, device, s) -> dict:
    """{key: (network, about)}: for each assignment network, a fresh one of its architecture
    trained on shuffled labels (shuffled_labels), the data control of both the randomisation
    tests and the class-averaged maps; evaluated one pass an image."""
    out = {}
    for key in models:
        net, about = shuffled_labels(key, train, s.shuffled_per_class, s.shuffled_epochs, s.seed, device)
        net.flip_tta = False
        out[key] = (net, about)
    return out


def checks_part(models: dict, x, y, logits: dict, shuffled_nets: dict, device, s) -> tuple[tuple[dict, dict],
                                                                                            list[Page]]:
    """The three randomisation tests on `s.cascade_per_class` correctly classified test images a class:
    each method's map of the trained network against its map as the layers are re-drawn from the logits
    down (the cascade), with one layer re-drawn alone, and of the network trained on shuffled labels
    (`shuffled_nets`: shuffled_networks).
    Returns (the cascade's numbers, the other two's), and a page for each."""
    cascaded, other, methods = {}, {}, cascade_methods(s.smoothgrad_samples)
    for key, (_label, model) in models.items():
        model = copy.deepcopy(model)
        model.flip_tta = False  # one pass an image (the CNN's test-time mirror averaging would double the cost)
        idx = checked_images(logits[key], y, s.cascade_per_class)
        xs, cs = x[idx].to(device), y[idx].to(device)
        steps, alone = attribution.cascade(model, seed=s.seed), attribution.independent(model, seed=s.seed)
        shuffled, about = shuffled_nets[key]
        nets = [net for _, net in steps] + [net for _, net in alone] + [shuffled]
        compared = against_trained(model, nets, methods, xs, cs)
        part = lambda lo, hi: {k: {m: v[lo:hi] for m, v in compared[k].items()} for k in compared}  # noqa: E731
        cascaded[key] = {"images": len(idx), "layers": [name for name, _ in steps],
                         "smoothgrad_samples": s.smoothgrad_samples, **part(0, len(steps))}
        other[key] = {"images": len(idx), "layers": [name for name, _ in alone],
                      "independent": part(len(steps), len(steps) + len(alone)),
                      "labels": {**about, **{k: {m: v[-1] for m, v in compared[k].items()} for k in compared}}}
    shown_cascade, shown_other = ({k.upper(): v for k, v in n.items()} for n in (cascaded, other))
    cascaded["sentence"], other["sentence"] = cascade_words(shown_cascade), randomisation_words(shown_other)
    pages = [Page("sanity_cascade", "Sanity check, cascading (FFN, CNN)", cascaded["sentence"],
                  figures.cascade_figure(shown_cascade)),
             Page("sanity_randomisation", "Sanity check, each layer alone and shuffled labels (FFN, CNN)",
                  other["sentence"], figures.randomisation_figure(shown_other))]
    return (cascaded, other), pages


def cascade_methods(samples: int) -> dict:
    """The cascade's methods: SmoothGrad at the paper's settings (`samples` draws, noise 15 % of the
    [-1, 1] range); integrated gradients on 16 steps (enough for a ranking; its completeness is
    checked in the sanity part)."""
    return {"gradient": lambda m, x, c: attribution.logit_gradient(m, x, c),
            "guided backprop": lambda m, x, c: attribution.logit_gradient(m, x, c, guided_relu=True),
            "integrated gradients": lambda m, x, c: attribution.integrated_gradients(m, x, c, steps=16),
            "SmoothGrad": lambda m, x, c: attribution.smoothgrad(m, x, c, sigma=0.3, samples=samples),
            "occlusion": lambda m, x, c: attribution.occlusion(m, x, c)}


def against_trained(model, nets: list, methods: dict, xs: torch.Tensor, cs: torch.Tensor) -> dict:
    """Each method's map of `model` set against its map of each of `nets` on the images `xs`
    (classes `cs`): {"correlation": {method: [mean rank correlation of |map| over the garment, one
    per net]}, "spread": {method: [[10th, 90th percentile over the images], ...]}, "ssim": {method:
    [mean SSIM of the maps each scaled to [0, 1], one per net]}} (Adebayo et al.'s two measures)."""
    on = garment(xs.cpu())
    trained = {m: f(model, xs, cs).cpu() for m, f in methods.items()}
    out = {key: {m: [] for m in methods} for key in ("correlation", "spread", "ssim")}
    for net in nets:
        for m, f in methods.items():
            other = f(net, xs, cs).cpu()
            r = attribution.rank_correlation(trained[m], other, on)
            out["correlation"][m].append(float(np.nanmean(r)))
            out["spread"][m].append([float(np.nanpercentile(r, 10)), float(np.nanpercentile(r, 90))])
            out["ssim"][m].append(float(np.mean(attribution.ssim(trained[m], other))))
    return out


def cascade_words(numbers: dict) -> str:
    """What the cascade found, per network: each method's rank correlation once every layer is
    re-drawn, and which methods' maps survive that (>= ALIKE: they show the image, not the weights)."""
    parts = []
    for network, n in numbers.items():
        end = {m: v[-1] for m, v in n["correlation"].items()}
        deep = {m: max(k for k, c in enumerate(v) if c >= ALIKE) for m, v in n["correlation"].items()
                if any(c >= ALIKE for c in v) and v[-1] < ALIKE}
        kept = [f"{m} ({v:.2f})" for m, v in end.items() if v >= ALIKE]
        gone = [f"{m} ({v:.2f})" for m, v in end.items() if v < ALIKE]
        parts.append(
            f"{network}, every one of its {len(n['layers'])} layers re-drawn ({n['images']} test images): "
            + (f"{listing(gone)} lose{'s' if len(gone) == 1 else ''} the trained map's ranking" if gone else
               "no method loses the trained map's ranking")
            + (f"; {listing(kept)} keep{'s' if len(kept) == 1 else ''} rank correlation {ALIKE} or more with a "
               "network of random weights, so it shows the image more than what was learned" if kept else "")
            + "".join(f"; {m} keeps {ALIKE} or more with the layers down to {n['layers'][k]} re-drawn and falls "
                      f"below once {n['layers'][k + 1]} is re-drawn too, so it reads the upper layers' weights little"
                      for m, k in deep.items() if k > 0)
            + ".")
    structure = [f"{network} " + ", ".join(f"{m} {v[-1]:.2f}" for m, v in n["ssim"].items())
                 for network, n in numbers.items() if "ssim" in n]
    return (" ".join(parts) + (" Rank correlation of |map| over the garment's pixels, trained against re-drawn, "
                               "mean over the images; the CNN's maps without its test-time mirror averaging.")
            + (" SSIM of the maps scaled to [0, 1] with every layer re-drawn (1: the same structure; lower row of "
               "the figure): " + "; ".join(structure) + "." if structure else ""))


def randomisation_words(numbers: dict) -> str:
    """What the two checks found, per network: which methods' maps change when a single layer is
    re-drawn, and with which layers re-drawn alone a method still keeps the trained map's ranking
    (rank correlation >= ALIKE); which keep it for a network that learned shuffled labels, beside how
    well that network memorised them."""
    parts = []
    for network, n in numbers.items():
        alone, lab, layers = n["independent"]["correlation"], n["labels"], n["layers"]
        low = {m: int(np.argmin(v)) for m, v in alone.items()}
        moved = [m for m, k in low.items() if alone[m][k] < ALIKE]
        still = [m for m in alone if m not in moved]
        if moved:
            who = ("every method falls" if len(moved) == len(alone) else
                   f"{listing(moved)} fall" + "s" * (len(moved) == 1))
            lowest = ", ".join(f"{m} {alone[m][low[m]]:.2f} at {layers[low[m]]}" for m in moved)
            text = f"{who} below {ALIKE} for at least one layer (lowest: {lowest})"
        else:
            text = f"no method falls below {ALIKE} for any single layer"
        for m in moved:
            up = [layers[k] for k, c in enumerate(alone[m]) if c >= ALIKE]
            if up:
                one = len(up) == 1
                text += (f"; {m} keeps {ALIKE} or more when only {'' if one else 'one of '}{listing(up)} is re-drawn, "
                         f"so it reads {'that layer' if one else 'those layers'} little")
        if still:
            text += f"; {listing(still)} stay{'s' * (len(still) == 1)} at {ALIKE} or more whichever layer is re-drawn"
        kept = [f"{m} ({v:.2f})" for m, v in lab["correlation"].items() if v >= ALIKE]
        lost = {m: v for m, v in lab["correlation"].items() if v < ALIKE}
        if not lost:
            verdict = "no method loses the trained map's ranking"
        elif len(lost) == len(alone):
            verdict = ("every method loses the trained map's ranking ("
                       + ", ".join(f"{m} {v:.2f}" for m, v in lost.items()) + ")")
        else:
            verdict = (f"{listing([f'{m} ({v:.2f})' for m, v in lost.items()])} lose{'s' * (len(lost) == 1)} the "
                       "trained map's ranking")
        if kept:
            verdict += (f"; {listing(kept)} keep{'s' * (len(kept) == 1)} {ALIKE} or more, so "
                        f"{'it shows' if len(kept) == 1 else 'they show'} the image more than what the labels taught")
        parts.append(
            f"{network} ({n['images']} test images), one of its {len(layers)} layers re-drawn at a time: {text}. The "
            f"same architecture trained on {lab['images']:,} training images with shuffled labels ({lab['epochs']} "
            f"epochs; {100 * lab['memorised']:.0f} % of them memorised, {100 * lab['true_labels']:.0f} % agreeing "
            f"with the true labels, which the shuffle left in place for {100 * lab['labels_kept']:.0f} %): {verdict}.")
    return " ".join(parts) + (" Rank correlation of |map| over the garment's pixels with the trained network's map, "
                              "mean over the images.")
