"""What the trained networks learned (analyze.py): each part returns its numbers (for
analysis.json) and its page (for analysis.pdf). Every part reads the same test-set logits
from one prediction pass per network."""
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from fmnist.analysis import ascent, attribution, figures, fooling
from fmnist.analysis.ascent import Ascent
from fmnist.analysis.attribution import (
    PURITY_TOP,
    channel_activations,
    channel_gradient,
    class_share,
    pick_channels,
    stage_output,
)
from fmnist.analysis.fooling import greedy, random_pixels
from fmnist.core import plotting, stats
from fmnist.core.data import CLASSES, stratified
from fmnist.core.diagnostics import penultimate, pick_right_wrong, roc, tsne
from fmnist.core.layers import crop, feature_stages, layer_table
from fmnist.core.metrics import mean_purity
from fmnist.core.pages import Page, series
from fmnist.core.words import listing, tsne_words


@dataclass(frozen=True)
class AnalysisSettings:
    tsne_per_class: int = 150            # t-SNE on a stratified subset: 150 images per class
    random_images: int = 1000            # random-pixel attack: the first N test images
    random_draws: int = 3
    random_counts: tuple = (0, 1, 2, 5, 10, 20, 50, 100, 150, 200, 250)
    greedy_images: int = 500             # greedy attack: the first N test images
    greedy_steps: int = 200
    greedy_candidates: int = 4
    epsilons: tuple = (0, 0.01, 0.02, 0.05, 0.1, 0.2)  # FGSM and PGD: L-infinity sizes, of the [0, 1] pixel range
    attack_images: int = 600             # FGSM and PGD: the first N test images, the same for both
    pgd_steps: int = 7
    channels: int = 10                   # guided backprop: channels of the last conv stage
    top_images: int = 5
    map_channels: int = 6                # feature maps per class: channels per stage
    seed: int = 0


QUICK = AnalysisSettings(tsne_per_class=10, random_images=100, random_draws=2, random_counts=(0, 1, 5, 20),
                         greedy_images=20, greedy_steps=20, epsilons=(0, 0.05, 0.2), attack_images=20,
                         pgd_steps=2)


def layers_words(network: str, table: dict) -> str:
    """Where a network's neurons and parameters sit, from its layer table."""
    totals = table["totals"]
    t = totals["total"]
    head = f"The {network} has {t['parameters']:,} parameters and {t['neurons']:,} neurons"
    if "convolutional" in totals and "fully connected" in totals:
        c = totals["convolutional"]
        n, p = 100 * c["neurons"] / max(t["neurons"], 1), 100 * c["parameters"] / max(t["parameters"], 1)
        return (f"{head}; its convolutions hold {n:.0f} % of the neurons and {p:.0f} % of the parameters, its fully "
                f"connected layers {100 - n:.0f} % and {100 - p:.0f} %.")
    weighted = [r for r in table["layers"] if r["parameters"]]
    big = max(weighted, key=lambda r: r["parameters"])
    return (f"{head} in {sum(r['neurons'] > 0 for r in table['layers'])} layers; the largest, {big['name']}, holds "
            f"{100 * big['parameters'] / max(t['parameters'], 1):.0f} % of the parameters.")


def layers_part(label: str, key: str, model) -> tuple[dict, Page]:
    table = layer_table(model)
    return table, Page(f"{key}_layers", f"Spec 000, layers ({key.upper()})", layers_words(key.upper(), table),
                       plotting.layer_table_figure(label, table))


def right_wrong_part(label: str, key: str, x, y, logits, seed: int) -> tuple[list, Page]:
    chosen = pick_right_wrong(x, y, logits, seed)
    return chosen, Page(f"{key}_right_wrong", f"Spec 003, right and wrong ({key.upper()})",
                        right_wrong_words(key.upper(), chosen), plotting.right_wrong_figure(label, chosen))


def right_wrong_words(network: str, chosen: list[dict]) -> str:
    """The right and wrong examples in a sentence: how sure the network is of each kind."""
    right = [e for e in chosen if e["true"] == e["pred"]]
    wrong = [e for e in chosen if e["true"] != e["pred"]]
    out = f"The {network}'s {len(right)} random correct predictions"
    if right:
        confidences = [100 * e["confidence"] for e in right]
        out += f" (confidence {min(confidences):.0f}-{max(confidences):.0f} %)"
    if wrong:
        pairs = [f"{e['true_name']} taken for {e['pred_name']}" for e in wrong]
        common = max(dict.fromkeys(pairs), key=pairs.count)
        out += (f" and its {len(wrong)} most confident mistakes, at {100 * min(e['confidence'] for e in wrong):.0f}-"
                f"{100 * max(e['confidence'] for e in wrong):.0f} %" + (f"; {pairs.count(common)} of them {common}"
                                                                        if pairs.count(common) > 1 else ""))
    return out + "."


def guided_part(model, x, y, device, s: AnalysisSettings) -> tuple[dict, list[Page]]:
    """Guided backprop on `s.channels` channels of the last conv stage's activated output."""
    stages = [name for name, m in model.features.named_children() if isinstance(m, nn.ReLU)]
    stage = stages[-1]
    acts = channel_activations(model, x.to(device), stage).cpu()     # (N, C)
    chosen = pick_channels(acts, y, s.channels)
    rows = []
    for k, c in enumerate(chosen):
        top = acts[:, c].argsort(descending=True)[:s.top_images]
        maps = channel_gradient(model, x[top].to(device), stage, [c] * len(top), guided_relu=True).cpu()
        share = float(class_share(acts, y, k % 10)[c])
        rows.append({"channel": c, "picked_for": CLASSES[k % 10], "share": share, "indices": top.tolist(),
                     "images": x[top, 0].numpy(), "maps": maps[:, 0].numpy(),
                     "activations": acts[top, c].tolist(), "classes": [CLASSES[int(y[i])] for i in top]})
    first = rows[0]
    plain = channel_gradient(model, x[first["indices"]].to(device), stage, [first["channel"]] * s.top_images,
                             guided_relu=False).cpu()
    saliency = {"channel": first["channel"], "images": first["images"], "maps": plain[:, 0].numpy()}
    shape = " x ".join(map(str, stage_shape(model, stage, device)))
    where = f"features.{stage} ({shape}: the last conv stage after its pool, batch norm and ReLU)"
    numbers = {"tensor": where, "how_chosen": f"per class in order, the unpicked channel whose {PURITY_TOP} most "
               "activating test images hold the largest share of that class (ties: the larger ratio of its mean "
               "activation on the class to its mean on all test images)",
               "channels": [{k: r[k] for k in ("channel", "picked_for", "share", "indices", "activations", "classes")}
                            for r in rows]}
    numbers["sentence"] = guided_words(stage, [r["share"] for r in rows], PURITY_TOP)
    return numbers, series("cnn_guided_backprop", "Spec 000, guided backpropagation (CNN)", numbers["sentence"],
                           figures.guided_backprop_figures(rows, saliency, where, numbers["how_chosen"]))


def guided_words(stage: str, shares: list[float], top: int) -> str:
    """How class-specific the chosen channels are: how many hold their class in over half of their
    top images."""
    detectors = sum(v > 0.5 for v in shares)
    return (
        f"{len(shares)} channels of {stage}, one per class: in {detectors} of them over half of the {top} most "
        f"exciting test images are of that class (median share {100 * float(np.median(shares)):.0f} %; each channel "
        "was picked for that share, so it is a best case)."
    )


def stage_shape(model, stage: str, device) -> list[int]:
    with torch.no_grad():
        return list(stage_output(model.features, torch.zeros(1, 1, 28, 28, device=device), stage).shape[1:])


def class_maps_part(model, x, y, s: AnalysisSettings) -> tuple[dict, list[Page]]:
    """The first test image of each class through every conv stage (activated outputs)."""
    indices = [int((y == k).nonzero()[0]) for k in range(len(CLASSES)) if (y == k).any()]
    device = next(model.parameters()).device
    per_image = [feature_stages(model, x[i][None].to(device)) for i in indices]
    stages = []
    for j in range(1, len(per_image[0]), 2):  # feature_stages alternates conv output, activated output
        conv, act = per_image[0][j - 1][0], per_image[0][j][0]
        stages.append((f"{conv} + {act}", np.stack([p[j][1] for p in per_image])))
    names = [CLASSES[int(y[i])] for i in indices]
    zeros = [float((maps == 0).mean()) for _, maps in stages]
    sizes = [list(maps.shape[1:]) for _, maps in stages]
    sentence = feature_map_words(sizes, zeros)
    return ({"indices": indices, "stages": [label for label, _ in stages], "zeros": zeros, "sizes": sizes,
             "sentence": sentence},
            series("cnn_class_feature_maps", "Spec 004, feature maps per class (CNN)", sentence,
                   figures.class_feature_maps_figures(x[indices, 0].numpy(), names, indices, stages, s.map_channels)))


def feature_map_words(sizes: list[list[int]], zeros: list[float]) -> str:
    """How the maps change from stage to stage: their shape (channels, height, width) and the
    share of values a ReLU set to zero."""
    (c0, h0, w0), (c1, h1, w1) = sizes[0], sizes[-1]
    trend = "more" if zeros[-1] > zeros[0] else "fewer" if zeros[-1] < zeros[0] else "as many"
    return (f"From the first conv stage to the last the maps go from {c0} channels of {h0}x{w0} to {c1} of {h1}x{w1}, "
            f"and {trend} of their values are zero ({100 * zeros[0]:.0f} % to {100 * zeros[-1]:.0f} % for these "
            "images): " + ("sparser" if trend == "more" else "no sparser" if trend == "as many" else "denser")
            + " maps deeper in.")


def roc_part(labels: dict, y: torch.Tensor, logits: dict) -> tuple[dict, Page]:
    """ROC of every network (`labels` and `logits` keyed alike): AUCs for analysis.json, one page."""
    curves = {labels[key]: roc(y, logits[key]) for key in logits}
    numbers = {key: {"macro_auc": curves[labels[key]]["macro_auc"],
                     "auc": {k: c["auc"] for k, c in curves[labels[key]]["classes"].items()}} for key in logits}
    numbers["sentence"] = roc_words({k.upper(): v for k, v in numbers.items()})
    return numbers, Page("roc", "Spec 003, ROC curves", numbers["sentence"],
                         plotting.roc_figure(curves, CLASSES))


def roc_words(aucs: dict) -> str:
    """Macro AUC of each network and its weakest class ({"FFN": {"macro_auc", "auc": {class: auc}}})."""
    parts = []
    for network, r in aucs.items():
        worst = min(r["auc"], key=r["auc"].get)
        parts.append(f"{network} macro AUC {r['macro_auc']:.4f}, weakest {worst} ({r['auc'][worst]:.4f})")
    best = max(aucs, key=lambda n: aucs[n]["macro_auc"])
    if len(aucs) < 2 or len({round(r["macro_auc"], 4) for r in aucs.values()}) == 1:
        return "; ".join(parts) + "."
    rest = [n for n in aucs if n != best]
    wins = sum(all(aucs[best]["auc"][c] > aucs[n]["auc"][c] for n in rest) for c in aucs[best]["auc"])
    return ("; ".join(parts) + f": the {best}'s macro AUC is the higher, and its AUC is higher for {wins} of the "
            f"{len(aucs[best]['auc'])} classes.")


def tsne_part(models: dict, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
    """t-SNE of every network's penultimate features on one stratified test subset."""
    subset = stratified(y, s.tsne_per_class, s.seed)
    embeddings, features = {}, {}
    for label, model in models.values():
        feats, layer = penultimate(model, x[subset], device)
        embeddings[label], features[label] = (tsne(feats, s.seed), y[subset].numpy(), layer), feats
    note = (f"a stratified random subset of {len(subset):,} test images, "
            f"{s.tsne_per_class} per class; scikit-learn's TSNE, perplexity 30")
    sentence = " ".join(tsne_words(label, {"points": e[0], "labels": e[1], "layer": e[2]})
                        + f" In the {features[label].shape[1]} features themselves (before t-SNE) the same share is "
                        f"{100 * mean_purity(features[label], e[1]):.0f} %."
                        for label, e in embeddings.items())
    return ({"note": note, "indices": subset.tolist(), "sentence": sentence},
            Page("tsne", "Spec 003, t-SNE", sentence,
                 plotting.tsne_figure(embeddings, CLASSES, note)))


def fooling_part(models: dict, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
    n_r, n_g = min(s.random_images, len(y)), min(s.greedy_images, len(y))
    numbers, random_acc, greedy_acc, fooled = {"counts": list(s.random_counts)}, {}, {}, {}
    for key, (_label, model) in models.items():
        start = time.perf_counter()
        random_acc[key.upper()] = random_pixels(model, x[:n_r], y[:n_r], s.random_counts, s.random_draws,
                                                s.seed, device)
        result = greedy(model, x[:n_g], y[:n_g], s.greedy_steps, device, s.greedy_candidates)
        greedy_acc[key.upper()] = result["accuracy"]
        fooled_ids = (result["fooled_at"] > 0).nonzero().flatten()
        numbers[key] = {"random_accuracy": random_acc[key.upper()], "greedy_accuracy": result["accuracy"],
                        "greedy_fooled": len(fooled_ids), "seconds": time.perf_counter() - start}
        if len(fooled_ids):
            i = int(fooled_ids[result["pixels_changed"][fooled_ids].argmin()])
            with torch.no_grad():
                model.eval()
                p = model(torch.stack([x[i], result["images"][i]]).to(device)).softmax(1).cpu()
            fooled[key.upper()] = {"index": i, "pixels": int(result["pixels_changed"][i]),
                                   "before": x[i, 0].numpy(), "after": result["images"][i, 0].numpy(),
                                   "pred_before": CLASSES[int(p[0].argmax())], "conf_before": float(p[0].max()),
                                   "pred_after": CLASSES[int(p[1].argmax())], "conf_after": float(p[1].max())}
            numbers[key]["fewest_pixels"] = {k: v for k, v in fooled[key.upper()].items()
                                             if k not in ("before", "after")}
    random_note = (f"the first {n_r:,} test images, k random pixels set to random values in [-1, 1], "
                   f"mean of {s.random_draws} draws")
    greedy_note = (f"the first {n_g:,} test images; each step changes the one pixel (to -1 or +1) that most raises "
                   f"the true class's loss among the gradient's top {s.greedy_candidates}")
    numbers.update(random_note=random_note, greedy_note=greedy_note, random_images=n_r, greedy_images=n_g)
    numbers["sentence"] = fooling_words(list(s.random_counts), random_acc, greedy_acc)
    return numbers, Page("fooling", "Spec 000, fooling curve", numbers["sentence"],
                         figures.fooling_figure(list(s.random_counts), random_acc, greedy_acc, greedy_note,
                                               random_note, fooled, f"accuracy (%) on the first {n_r:,} (random) or "
                                               f"{n_g:,} (greedy) test images"))


def robustness_part(models: dict, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
    """Accuracy against the size of an L-infinity change to every pixel, FGSM and PGD, both networks."""
    n = min(s.attack_images, len(y))
    size = [2 * e for e in s.epsilons]  # the inputs span [-1, 1]: twice the [0, 1] pixel range
    curves = {"FGSM": {}, "PGD": {}}
    for key, (_label, model) in models.items():
        curves["FGSM"][key.upper()] = fooling.linf_attacks(model, x[:n], y[:n], size, 1, device)
        curves["PGD"][key.upper()] = fooling.linf_attacks(model, x[:n], y[:n], size, s.pgd_steps, device)
    sentence = fooling.robustness_words(list(s.epsilons), curves)
    notes = {
        "FGSM": f"the first {n:,} test images, one step of eps x sign(gradient)",
        "PGD": f"the same images, {s.pgd_steps} steps of 2.5 eps / {s.pgd_steps} along the gradient's sign, projected "
        "into the eps-box, no random start (an image counts as fooled at the first iterate that fools it)",
        "units": "eps as a share of the [0, 1] pixel range: 2 eps in the [-1, 1] input units of the targeted "
        "fooling pages; the CNN attacked through its evaluation mode, which averages the image and its "
        "mirror",
    }
    numbers = {"epsilons": list(s.epsilons), "accuracy": curves, "notes": notes, "sentence": sentence}
    return numbers, Page("robustness", "Spec 000, FGSM and PGD (FFN, CNN)", sentence,
                         figures.robustness_figure(list(s.epsilons), curves, notes))


def fooling_words(counts: list[int], random_acc: dict, greedy_acc: dict) -> str:
    """How few chosen pixels undo each network, against as many random ones."""
    parts = []
    for network, g in greedy_acc.items():
        zero = next((k for k, v in enumerate(g) if v == 0), None)
        parts.append(f"{network} {100 * g[0]:.1f} % -> {100 * g[min(5, len(g) - 1)]:.1f} % with {min(5, len(g) - 1)} "
                     + (f"and 0 % at {zero}" if zero is not None else f"and {100 * g[-1]:.1f} % at {len(g) - 1}"))
    rnd = ", ".join(f"{n} {100 * a[-1]:.1f} %" for n, a in random_acc.items())
    return ("Pixels chosen by the gradient undo the networks: " + "; ".join(parts) + f" pixels changed; "
            f"{counts[-1]} random pixels leave {rnd}.")


@dataclass(frozen=True)
class VisualSettings:
    ascent: Ascent = Ascent()    # class models and channel visualisations: one recipe
    fooling_steps: int = 200
    fooling_step: float = 0.1    # L2 length of one step on a 28 x 28 input in [-1, 1]
    fooling_per_class: int = 10  # targeted fooling: correctly classified test images per class (the first ones)
    typical: float = 95          # a class model farther from its class mean than this percentile of the class's
                                 # test images is called a fooling image


QUICK_VISUAL = VisualSettings(Ascent(strengths=(1.0, 0.1), max_steps=30), fooling_steps=20, fooling_per_class=2)


def class_model_words(network: str, names: list[str], probability, distance, typical, goal: float,
                      percentile: float, mean_probability=None, other: tuple | None = None) -> str:
    """What a network's class models are, from their numbers: whether each is its class with the
    goal probability (and how many class means already were), whether each stays as near its
    class mean as typical test images of the class (`typical`: their `percentile`th distance) or
    is a fooling image, and how many the other network (`other`: its name and its probabilities of
    the classes on these images) also gives their class."""
    low = [names[k] for k, p in enumerate(probability) if p < goal]
    far = [names[k] for k, (d, t) in enumerate(zip(distance, typical)) if d > t]
    k = min(range(len(names)), key=lambda i: probability[i])
    first = (f"all {len(names)} of the {network}'s class models are their class with probability {goal:g} or more "
             "(lowest "
             f"{names[k]}, {probability[k]:.2f})" if not low else
             f"{len(names) - len(low)} of the {network}'s {len(names)} class models reach probability {goal:g} "
             f"({listing(low)} {'does' if len(low) == 1 else 'do'} not)")
    if mean_probability is not None:
        already = [names[i] for i, p in enumerate(mean_probability) if p >= goal]
        first += (f", where {len(already)} class mean{'s' if len(already) != 1 else ''} already "
                  f"{'were' if len(already) != 1 else 'was'} before any change ({listing(already)})" if already else
                  ", where no class mean was before any change")
    second = (f"all stay within the distance from their class mean that {percentile:g} % of the class's test images "
              "keep" if not far else
              f"{listing(far)} {'lies' if len(far) == 1 else 'lie'} farther from {'its' if len(far) == 1 else 'their'} "
              f"class mean than {percentile:g} % of the class's test images: fooling images, which the network "
              "believes but a person would not" + ("" if len(far) == len(names) else
                                                  f"; the other {len(names) - len(far)} stay near the data"))
    third = ""
    if other is not None:
        name, p = other
        shared = sum(v >= goal for v in p)
        third = f"; the {name} gives {shared} of the {len(names)} their class with probability {goal:g} or more too"
    return f"{first[0].upper()}{first[1:]}; {second}{third}."


TOP_TEST = 2  # class models: the class's test images of highest logit shown beside each


def class_models_part(models: dict, x, y, logits: dict, s: VisualSettings, device) -> tuple[dict, list[Page]]:
    """The class model of every class for both networks, beside the class's mean test image and
    its TOP_TEST test images of highest logit; each network's probabilities of the classes on the
    other's models."""
    classes = list(range(len(CLASSES)))
    means = torch.stack([x[y == k].mean(0) for k in classes])
    typical = [float(np.percentile((x[y == k] - means[k]).flatten(1).norm(dim=1).numpy(), s.typical)) for k in classes]
    numbers, made = {"method": s.ascent.describe(), "typical_distance": typical, "percentile": s.typical}, {}
    start = ascent.lowpass(means, s.ascent.sigma).clamp(-1, 1)  # what each climb starts from, through the blur
    for key, (label, model) in models.items():
        own = logits[key][torch.arange(len(y)), y]
        ranked = [(y == k).nonzero().flatten()[own[y == k].argsort(descending=True)[:TOP_TEST]] for k in classes]
        top = [int(order[0]) for order in ranked]
        ranks = min(len(order) for order in ranked)  # TOP_TEST, or fewer where a class has fewer test images
        r = ascent.class_models(model, means.to(device), own[top], s.ascent)
        with torch.no_grad():
            mean_p = model(means.to(device)).softmax(1).cpu()[classes, classes]
        numbers[key] = {"probability": r["probability"].tolist(), "logit": r["logit"].tolist(),
                        "predicted": r["predicted"].tolist(), "strength": r["strength"].tolist(),
                        "steps": r["steps"].tolist(), "reached": r["reached"].tolist(),
                        "best_test_index": top, "best_test_logit": own[top].tolist(),
                        "top_test_index": [[int(order[j]) for order in ranked] for j in range(ranks)],
                        "top_test_logit": [[float(own[order[j]]) for order in ranked] for j in range(ranks)],
                        "mean_image_probability": mean_p.tolist(),
                        "distance_to_mean": (r["images"] - means).flatten(1).norm(dim=1).tolist(),
                        "change": (r["images"] - start).flatten(1).norm(dim=1).tolist(), "typical": typical}
        numbers[key]["fooling"] = [d > t for d, t in zip(numbers[key]["distance_to_mean"], typical)]
        made[key] = (label, r)
    pages = []
    for key, (label, r) in made.items():
        others = [k for k in made if k != key]
        other = None
        if others:
            with torch.no_grad():
                p = models[others[0]][1](r["images"].to(device)).softmax(1).cpu()[classes, classes]
            numbers[key]["other_network_probability"] = p.tolist()
            other = (others[0].upper(), p.tolist())
        n = numbers[key]
        n["sentence"] = class_model_words(key.upper(), CLASSES, n["probability"], n["distance_to_mean"], typical,
                                          s.ascent.goal, s.typical, n["mean_image_probability"], other)
        pages.append(Page("class_models" + ("_2" if pages else ""), f"Class models ({key.upper()})", n["sentence"],
                          figures.class_models_figure(label, means[:, 0], start[:, 0], r,
                                                      [x[index, 0] for index in n["top_test_index"]], n, CLASSES,
                                                      numbers["method"], getattr(models[key][1], "flip_tta", False))))
    return numbers, pages


def channel_words(rows: list[dict], cap: int) -> str:
    """How many channel images drive their unit as high as its best test image, how much prior
    they kept doing it, and how many climbs the step cap stopped."""
    short = [f"{r['stage']} ch {r['channel']}" for r in rows if r["reached"] < r["best"]]
    strong = [r["strength"] for r in rows if r["reached"] >= r["best"]]
    capped = [r["stage"] for r in rows if r["steps"] >= cap]
    top = max((r["reached"] / r["best"] for r in rows if r["best"] > 0), default=None)
    return (f"{len(rows) - len(short)} of {len(rows)} optimised images drive their channel's centre unit at least as "
            "high "
            "as its best test image" + (f" (up to {top:.1f} times as high)" if top is not None and top > 1 else "")
            + (f", {listing(short)} fall{'s' if len(short) == 1 else ''} short" if short else "")
            + (f"; those that reach it keep a median prior strength of {float(np.median(strong)):g}" if strong else "")
            + (f"; {len(capped)} of {len(rows)} climbs stopped at the {cap}-step cap, still rising ("
               + listing([f"{capped.count(st)} at {st}" for st in dict.fromkeys(capped)]) + ")" if capped else
               "; each stage's climbs (one batch a strength) stopped rising before the step cap")
            + "; beside each, the test patches that excite the channel most, cropped to the same receptive field.")


def channel_part(model, q9: dict, x: torch.Tensor, s: VisualSettings, device) -> tuple[dict, list[Page]]:
    """For question 9's channels of each conv stage: the optimised input of the channel's centre
    unit, cropped to that unit's receptive field, beside the channel's top test patches; the
    value it reaches against the best test image's at the same unit."""
    rows, numbers = [], {"method": s.ascent.describe() + "; objective: the channel's centre unit", "stages": []}
    data = x.mean(0, keepdim=True).to(device)  # the mean test image: where every channel image starts
    for stage in q9["patches"]:
        channels = [c["channel"] for c in stage["channels"]]
        unit = ascent.centre_unit(model.features, stage["stage"], device)
        best = ascent.unit_values(model.features, x.to(device), stage["stage"], channels, unit).amax(0).cpu()
        r = ascent.channel_visuals(model, stage["stage"], channels, data, best, s.ascent)
        top, left, size = r["box"]
        numbers["stages"].append({"stage": stage["stage"], "unit": r["unit"], "window": r["box"],
                                  "channels": channels, "optimised": r["activation"].tolist(),
                                  "best_test_image": best.tolist(), "strength": r["strength"].tolist(),
                                  "steps": r["steps"].tolist()})
        for k, ch in enumerate(stage["channels"]):
            rows.append({"stage": stage["stage"], "channel": ch["channel"], "field": size, "unit": r["unit"],
                         "visual": crop(r["images"][k, 0], top, left, size).numpy(),
                         "reached": float(r["activation"][k]), "best": float(best[k]),
                         "strength": float(r["strength"][k]), "steps": int(r["steps"][k]),
                         "patches": [np.asarray(p["pixels"], dtype=float).reshape(size, size) / 127.5 - 1
                                     for p in ch["patches"][:4]]})
    numbers["sentence"] = channel_words(rows, s.ascent.max_steps)
    return numbers, series("channel_visualisations", "Channel visualisations (CNN)", numbers["sentence"],
                           figures.channel_figures(rows, numbers["method"]))


def saliency_part(models: dict, examples: dict, x: torch.Tensor, logits: dict, device) -> tuple[dict, Page]:
    """d score / d input (signed) and guided backpropagation of the predicted class's logit, for
    each network's right and wrong examples; for the wrong ones also d score / d input of the
    true class."""
    shown, numbers = {}, {}
    for key, (_label, model) in models.items():
        idx = torch.tensor([e["index"] for e in examples[key]])
        pred = torch.tensor([e["pred"] for e in examples[key]], device=device)
        plain = attribution.logit_gradient(model, x[idx].to(device), pred).cpu()[:, 0]  # signed
        guided = attribution.logit_gradient(model, x[idx].to(device), pred, guided_relu=True).cpu()[:, 0]
        true = torch.tensor([e["true"] for e in examples[key]], device=device)
        true_plain = attribution.logit_gradient(model, x[idx].to(device), true).cpu()[:, 0]
        shown[key.upper()] = {"images": x[idx, 0], "plain": plain, "guided": guided, "true_plain": true_plain,
                              "examples": examples[key]}
        sample = x[:SALIENCY_SAMPLE]  # the share on the garment: measured over a sample, not the 8 shown
        picked = logits[key][:SALIENCY_SAMPLE].argmax(1).to(device)
        grads = attribution.logit_gradient(model, sample.to(device), picked).cpu()[:, 0]
        inside = [_share_on_garment(image[0], m.abs()) for image, m in zip(sample, grads)]
        area = [float(garment(image[0]).float().mean()) for image in sample]
        numbers[key] = {"indices": idx.tolist(), "saliency_on_garment": inside, "garment_area": area}
    numbers["sentence"] = saliency_words({k.upper(): v for k, v in numbers.items()})
    return numbers, Page("saliency", "Saliency (FFN, CNN)", numbers["sentence"],
                         figures.saliency_figure(shown))


SALIENCY_SAMPLE = 1000  # the first N test images: where the gradient falls, measured


def saliency_words(numbers: dict) -> str:
    """Where each network's gradient falls: its median share on the garment against the garment's
    median share of the pixels ({"FFN": {"saliency_on_garment": [...], "garment_area": [...]}})."""
    parts = []
    for network, n in numbers.items():
        r = stats.median_interval([a / max(b, 1e-12) for a, b in zip(n["saliency_on_garment"], n["garment_area"])])
        side = ("more on the garment than on the background" if r["low"] is not None and r["low"] > 1 else
                "less on the garment than on the background" if r["high"] is not None and r["high"] < 1 else
                "no difference detected between garment and background")
        span = "" if r["low"] is None else f", 95 % interval {r['low']:.2f}-{r['high']:.2f}"
        parts.append(f"{network} {100 * float(np.median(n['saliency_on_garment'])):.0f} % on the garment, which covers "
                     f"{100 * float(np.median(n['garment_area'])):.0f} % of the pixels: a median {r['mean']:.2f} times "
                     f"its share{span} ({side})")
    count = len(next(iter(numbers.values()))["saliency_on_garment"])
    return (f"Median share of |gradient| of the predicted class per image, over the first {count:,} test images "
            f"(garment: pixels above {GARMENT:g}, the background being -1): " + "; ".join(parts) + ".")


SANITY_PER_CLASS = 1  # the sanity check: this many correctly classified test images of each class
ALIKE = 0.5  # a mean rank correlation at or above it: the map barely depends on the top layers


def sanity_words(correlations: dict, completeness: dict, shares: dict | None = None,
                 floors: dict | None = None) -> str:
    """What the check found, from its numbers: which methods' maps keep their ranking when the top
    layers are re-drawn (they show the image), which change (they depend on the weights)."""
    parts = []
    for network, per_method in correlations.items():
        means = {m: float(np.mean(v)) for m, v in per_method.items()}
        alike = [f"{m} ({v:.2f})" for m, v in means.items() if v >= ALIKE]
        moved = [f"{m} ({v:.2f})" for m, v in means.items() if v < ALIKE]
        parts.append(f"{network}: " + (f"{listing(moved)} change{'s' if len(moved) == 1 else ''} with the weights"
                                       if moved else "no map changes much with the weights")
                     + (f"; {listing(alike)} keep{'s' if len(alike) == 1 else ''} rank correlation {ALIKE} or more, so "
                        f"{'it shows' if len(alike) == 1 else 'they show'} the image more than what the network "
                        "learned" if alike else "") + ".")
    errors = ", ".join(f"{n} {100 * v:.1f} %" for n, v in completeness.items())
    redrawn = ("" if not shares else " Re-drawn: the classifier layers, " + ", ".join(
        f"{100 * v:.1f} % of the {n}'s parameters" for n, v in shares.items()) + "; correlations of |map| over the "
        "garment's pixels, where no method is zero by construction.")
    ceiling = (
        ""
        if not floors
        else " SmoothGrad against itself with other noise draws (the same weights): "
        + ", ".join(f"{n} {v:.2f}" for n, v in floors.items())
        + ", the most its correlation could reach here."
    )
    return " ".join(parts) + redrawn + ceiling + (" Integrated gradients' mean relative completeness error (its "
                                                  "attributions "
                                        f"against logit(x) - logit(black)): {errors}.")


def sanity_part(models: dict, x, y, logits: dict, device) -> tuple[dict, Page]:
    """Every attribution method on correctly classified test images (SANITY_PER_CLASS a class),
    for each network trained and with its top layers re-drawn; the rank correlation between them."""
    shown, correlations, completeness, numbers, shares, floors = {}, {}, {}, {}, {}, {}
    for key, (_label, model) in models.items():
        right = (logits[key].argmax(1) == y).nonzero().flatten()
        idx = torch.cat([right[y[right] == k][:SANITY_PER_CLASS] for k in range(len(CLASSES))])
        xs, cs = x[idx].to(device), y[idx].to(device)
        redrawn = attribution.randomised_top(model, seed=0)
        maps = {k: {m: f(net, xs, cs).cpu() for m, f in attribution.METHODS.items()}
                for k, net in (("trained", model), ("redrawn", redrawn))}
        on = garment(xs.cpu())  # background pixels are 0 in integrated gradients and occlusion, trained or not
        per_method = {m: attribution.rank_correlation(maps["trained"][m], maps["redrawn"][m], on)
                      for m in attribution.METHODS}
        whole = {m: attribution.rank_correlation(maps["trained"][m], maps["redrawn"][m]) for m in attribution.METHODS}
        signed = {m: attribution.rank_correlation(maps["trained"][m], maps["redrawn"][m], on, signed=True)
                  for m in attribution.METHODS}
        shares[key.upper()] = (sum(p.numel() for p in model.classifier.parameters())
                               / sum(p.numel() for p in model.parameters()))
        other = attribution.smoothgrad(model, xs, cs, samples=8, seed=1).cpu()  # the same network, other noise
        floors[key.upper()] = float(np.mean(attribution.rank_correlation(maps["trained"]["SmoothGrad"], other, on)))
        with torch.no_grad():
            model.eval()
            gap = (
                model(xs)[torch.arange(len(cs)), cs] - model(torch.full_like(xs, -1.0))[torch.arange(len(cs)), cs]
            ).cpu()
        completeness[key.upper()] = float(((maps["trained"]["integrated gradients"].sum((1, 2, 3)) - gap).abs()
                                           / gap.abs().clamp(min=1e-6)).mean())
        correlations[key.upper()] = per_method
        shown[key.upper()] = {"image": x[idx[0], 0], "class": CLASSES[int(y[idx[0]])],
                              **{k: {m: v[0, 0] for m, v in maps[k].items()} for k in maps}}
        numbers[key] = {"indices": idx.tolist(), "rank_correlation": per_method, "rank_correlation_whole_image": whole,
                        "signed_rank_correlation": signed, "completeness_error": completeness[key.upper()],
                        "redrawn_share": shares[key.upper()], "smoothgrad_noise_floor": floors[key.upper()]}
    numbers["sentence"] = sanity_words(correlations, completeness, shares, floors)
    return numbers, Page("sanity_check", "Sanity check of the maps (FFN, CNN)", numbers["sentence"],
                         figures.sanity_figure(shown, correlations))


GARMENT = -0.9  # a pixel above this is the garment's (the background is -1 after preprocessing)


def garment(x: torch.Tensor) -> torch.Tensor:
    """Which pixels of x belong to the garment."""
    return x > GARMENT


def _share_on_garment(image: torch.Tensor, saliency: torch.Tensor) -> float:
    """The share of a saliency map's total that falls on the garment (pixels above the black
    background, -1 after preprocessing)."""
    total = float(saliency.sum())
    return float(saliency[garment(image)].sum()) / total if total > 0 else 0.0


def targeted_part(
    models: dict, metrics: dict, x, y, logits: dict, s: VisualSettings, device
) -> tuple[dict, list[Page]]:
    """For one correctly classified test image per class, gradient steps until the network
    gives the class it most often confuses it with; the sizes of the change needed."""
    shown, numbers, medians = {}, {"steps": s.fooling_steps, "step": s.fooling_step}, {}
    for key, (_label, model) in models.items():
        right = logits[key].argmax(1) == y
        classes = [k for k in range(len(CLASSES)) if ((y == k) & right).any()]  # a class with none right is left out
        idx = torch.cat([((y == k) & right).nonzero().flatten()[:s.fooling_per_class] for k in classes])
        targets = torch.tensor(fooling.most_confused(metrics["networks"][key]["test"]["confusion"]))[y[idx]]
        r = fooling.targeted(model, x[idx].to(device), targets.to(device), s.fooling_steps, s.fooling_step)
        ok = r["reached"]
        # np.median: the mean of the two middle values for an even count (torch's median takes the lower)
        medians[key.upper()] = (float(np.median(r["l2"][ok].numpy())) if ok.any() else float("nan"),
                                float(np.median(r["linf"][ok].numpy())) if ok.any() else float("nan"))
        quartiles = [float(q) for q in np.percentile(r["l2"][ok].numpy(), [25, 75])] if ok.any() else [float("nan")] * 2
        numbers[key] = {
            "classes": classes,
            "indices": idx.tolist(),
            "targets": targets.tolist(),
            "reached": ok.tolist(),
            "steps": r["steps"].tolist(),
            "l2": r["l2"].tolist(),
            "linf": r["linf"].tolist(),
            "median_l2": medians[key.upper()][0],
            "median_linf": medians[key.upper()][1],
            "l2_quartiles": quartiles,
        }
        first = torch.tensor([int((y[idx] == k).nonzero()[0, 0]) for k in classes])  # the page shows one a class
        shown[key.upper()] = {"before": x[idx[first], 0], **{k: v[first] for k, v in r.items()},
                              "targets": targets[first], "classes": classes}
    reached = [[v for v, ok in zip(numbers[k]["l2"], numbers[k]["reached"]) if ok] for k in models]
    diff = stats.median_difference(*reached) if len(models) == 2 and all(len(r) > 1 for r in reached) else None
    numbers["l2_median_difference"] = diff
    numbers["sentence"] = fooling.fooling_sentence(medians, diff)
    return numbers, series("targeted_fooling", "Targeted fooling (FFN, CNN)", numbers["sentence"],
                           figures.targeted_figures(shown, CLASSES, numbers))
