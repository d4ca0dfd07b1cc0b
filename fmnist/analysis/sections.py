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
from fmnist.analysis.attribution import (PURITY_TOP, channel_activations, channel_gradient, class_share, pick_channels,
                                         stage_output)
from fmnist.analysis.fooling import greedy, random_pixels
from fmnist.core import plotting
from fmnist.core.data import CLASSES, stratified
from fmnist.core.diagnostics import penultimate, pick_right_wrong, roc, tsne
from fmnist.core.layers import feature_stages, layer_table
from fmnist.core.pages import Page, series
from fmnist.core.words import listing


@dataclass(frozen=True)
class AnalysisSettings:
    tsne_per_class: int = 300            # t-SNE on a stratified subset: 300 images per class
    random_images: int = 2000            # random-pixel attack: the first N test images
    random_draws: int = 3
    random_counts: tuple = (0, 1, 2, 5, 10, 20, 50, 100, 150, 200, 250)
    greedy_images: int = 500             # greedy attack: the first N test images
    greedy_steps: int = 200
    greedy_candidates: int = 4
    channels: int = 10                   # guided backprop: channels of the last conv stage
    top_images: int = 5
    map_channels: int = 6                # feature maps per class: channels per stage
    seed: int = 0


QUICK = AnalysisSettings(tsne_per_class=10, random_images=100, random_draws=2, random_counts=(0, 1, 5, 20),
                         greedy_images=20, greedy_steps=20)


def layers_part(label: str, key: str, model) -> tuple[dict, Page]:
    table = layer_table(model)
    t = table["totals"]["total"]
    return table, Page(f"{key}_layers", f"Spec 000, layers ({key.upper()})",
                       f"{t['parameters']:,} parameters, {t['neurons']:,} neurons",
                       plotting.layer_table_figure(label, table))


def right_wrong_part(label: str, key: str, x, y, logits, seed: int) -> tuple[list, Page]:
    chosen = pick_right_wrong(x, y, logits, seed)
    return chosen, Page(f"{key}_right_wrong", f"Spec 003, right and wrong ({key.upper()})",
                        "4 correct, and the 4 most confident mistakes",
                        plotting.right_wrong_figure(label, chosen))


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
    return numbers, series("cnn_guided_backprop", "Spec 000, guided backpropagation (CNN)", f"10 channels of {stage}",
                           figures.guided_backprop_figures(rows, saliency, where, numbers["how_chosen"]))


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
    return ({"indices": indices, "stages": [label for label, _ in stages]},
            series("cnn_class_feature_maps", "Spec 004, feature maps per class (CNN)",
                   "every conv stage for one image of each class",
                   figures.class_feature_maps_figures(x[indices, 0].numpy(), names, indices, stages, s.map_channels)))


def roc_part(labels: dict, y: torch.Tensor, logits: dict) -> tuple[dict, Page]:
    """ROC of every network (`labels` and `logits` keyed alike): AUCs for analysis.json, one page."""
    curves = {labels[key]: roc(y, logits[key]) for key in logits}
    numbers = {key: {"macro_auc": curves[labels[key]]["macro_auc"],
                     "auc": {k: c["auc"] for k, c in curves[labels[key]]["classes"].items()}} for key in logits}
    return numbers, Page("roc", "Spec 003, ROC curves", "one-vs-rest, per class and macro AUC",
                         plotting.roc_figure(curves, CLASSES))


def tsne_part(models: dict, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
    """t-SNE of every network's penultimate features on one stratified test subset."""
    subset = stratified(y, s.tsne_per_class, s.seed)
    embeddings = {}
    for label, model in models.values():
        feats, layer = penultimate(model, x[subset], device)
        embeddings[label] = (tsne(feats, s.seed), y[subset].numpy(), layer)
    note = (f"a stratified random subset of {len(subset):,} test images, "
            f"{s.tsne_per_class} per class; scikit-learn's TSNE, perplexity 30")
    return ({"note": note, "indices": subset.tolist()},
            Page("tsne", "Spec 003, t-SNE", "penultimate-layer features in 2-D",
                 plotting.tsne_figure(embeddings, CLASSES, note)))


def fooling_part(models: dict, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
    n_r, n_g = min(s.random_images, len(y)), min(s.greedy_images, len(y))
    numbers, random_acc, greedy_acc, fooled = {"counts": list(s.random_counts)}, {}, {}, {}
    for key, (label, model) in models.items():
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
    return numbers, Page("fooling", "Spec 000, fooling curve", "accuracy against pixels changed, two attacks",
                         figures.fooling_figure(list(s.random_counts), random_acc, greedy_acc, greedy_note,
                                               random_note, fooled, f"accuracy (%) on the first {n_r:,} (random) or "
                                               f"{n_g:,} (greedy) test images"))


@dataclass(frozen=True)
class VisualSettings:
    ascent: Ascent = Ascent()            # class models: logits of a few units
    channel: Ascent = Ascent(l2=0.01)    # channels: mean activations, tenths of a unit, so a lighter L2
    fooling_steps: int = 200
    fooling_step: float = 0.1    # L2 length of one step on a 28 x 28 input in [-1, 1]
    fooling_per_class: int = 10  # targeted fooling: correctly classified test images per class (the first ones)


QUICK_VISUAL = VisualSettings(Ascent(steps=20), Ascent(steps=20, l2=0.01), fooling_steps=20, fooling_per_class=2)


def class_models_part(models: dict, s: VisualSettings, device) -> tuple[dict, Page]:
    """The class model of every class for both networks."""
    numbers, shown = {"method": s.ascent.describe()}, {}
    for key, (label, model) in models.items():
        r = ascent.class_models(model, len(CLASSES), s.ascent, device)
        shown[key.upper()] = r
        numbers[key] = {"probability": r["probability"].tolist(), "logit": r["logit"].tolist(),
                        "grey_logit": r["grey_logit"].tolist(), "predicted": r["predicted"].tolist()}
    return numbers, Page("class_models", "Class models (FFN, CNN)", "the input that maximises each class's logit",
                         figures.class_models_figure(shown, CLASSES, numbers["method"]))


def channel_part(model, q9: dict, x: torch.Tensor, s: VisualSettings, device) -> tuple[dict, list[Page]]:
    """For question 9's channels of each conv stage: the optimised input (cropped to the
    stage's receptive field) beside the channel's top test patches; the mean activation it
    reaches against the best test image's."""
    rows, numbers = [], {"method": s.channel.describe() + "; objective: the channel's mean activation over positions",
                         "stages": []}
    x = x.to(device)
    for stage in q9["patches"]:
        channels = [c["channel"] for c in stage["channels"]]
        r = ascent.channel_visuals(model, stage["stage"], channels, s.channel, device)
        means = ascent.channel_means(model, x, stage["stage"]).cpu()
        best = means[:, channels].amax(0)
        numbers["stages"].append({"stage": stage["stage"], "receptive_field": stage["receptive_field"],
                                  "channels": channels, "optimised": r["activation"].tolist(),
                                  "best_test_image": best.tolist()})
        for k, ch in enumerate(stage["channels"]):
            rows.append({"stage": stage["stage"], "channel": ch["channel"], "field": stage["receptive_field"],
                         "visual": ascent.crop(r["images"][k, 0], stage["receptive_field"]).numpy(),
                         "reached": float(r["activation"][k]), "best": float(best[k]),
                         "patches": [np.asarray(p["pixels"], dtype=float).reshape(int(len(p["pixels"]) ** 0.5), -1)
                                     / 127.5 - 1 for p in ch["patches"][:4]]})
    return numbers, series("channel_visualisations", "Channel visualisations (CNN)",
                           "optimised inputs beside top-activating patches", figures.channel_figures(rows, numbers["method"]))


def saliency_part(models: dict, examples: dict, x: torch.Tensor, device) -> tuple[dict, Page]:
    """d score / d input (signed) and guided backpropagation of the predicted class's logit, for
    each network's right and wrong examples."""
    shown, numbers = {}, {}
    for key, (label, model) in models.items():
        idx = torch.tensor([e["index"] for e in examples[key]])
        pred = torch.tensor([e["pred"] for e in examples[key]], device=device)
        plain = attribution.logit_gradient(model, x[idx].to(device), pred).cpu()[:, 0]  # signed
        guided = attribution.logit_gradient(model, x[idx].to(device), pred, guided_relu=True).cpu()[:, 0]
        shown[key.upper()] = {"images": x[idx, 0], "plain": plain, "guided": guided, "examples": examples[key]}
        inside = [_share_on_garment(x[i, 0], m.abs()) for i, m in zip(idx, plain)]
        numbers[key] = {"indices": idx.tolist(), "saliency_on_garment": inside}
    return numbers, Page("saliency", "Saliency (FFN, CNN)", "where each network looks, beside guided backpropagation",
                         figures.saliency_figure(shown))


SANITY_PER_CLASS = 1  # the sanity check: this many correctly classified test images of each class
ALIKE = 0.5  # a mean rank correlation at or above it: the map barely depends on the top layers


def sanity_words(correlations: dict, completeness: dict) -> str:
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
                        "they show the image more than what the network learned" if alike else "") + ".")
    errors = ", ".join(f"{n} {100 * v:.1f} %" for n, v in completeness.items())
    return " ".join(parts) + (" Integrated gradients' completeness: its attributions sum to logit(x) - logit(black) "
                              f"within {errors} on average.")


def sanity_part(models: dict, x, y, logits: dict, device) -> tuple[dict, Page]:
    """Every attribution method on correctly classified test images (SANITY_PER_CLASS a class),
    for each network trained and with its top layers re-drawn; the rank correlation between them."""
    shown, correlations, completeness, numbers = {}, {}, {}, {}
    for key, (label, model) in models.items():
        right = (logits[key].argmax(1) == y).nonzero().flatten()
        idx = torch.cat([right[y[right] == k][:SANITY_PER_CLASS] for k in range(len(CLASSES))])
        xs, cs = x[idx].to(device), y[idx].to(device)
        redrawn = attribution.randomised_top(model, seed=0)
        maps = {k: {m: f(net, xs, cs).cpu() for m, f in attribution.METHODS.items()}
                for k, net in (("trained", model), ("redrawn", redrawn))}
        per_method = {m: attribution.rank_correlation(maps["trained"][m], maps["redrawn"][m]) for m in attribution.METHODS}
        with torch.no_grad():
            model.eval()
            gap = (model(xs)[torch.arange(len(cs)), cs] - model(torch.full_like(xs, -1.0))[torch.arange(len(cs)), cs]).cpu()
        completeness[key.upper()] = float(((maps["trained"]["integrated gradients"].sum((1, 2, 3)) - gap).abs()
                                           / gap.abs().clamp(min=1e-6)).mean())
        correlations[key.upper()] = per_method
        shown[key.upper()] = {"image": x[idx[0], 0], "class": CLASSES[int(y[idx[0]])],
                              **{k: {m: v[0, 0] for m, v in maps[k].items()} for k in maps}}
        numbers[key] = {"indices": idx.tolist(), "rank_correlation": per_method,
                        "completeness_error": completeness[key.upper()]}
    numbers["sentence"] = sanity_words(correlations, completeness)
    return numbers, Page("sanity_check", "Sanity check of the maps (FFN, CNN)",
                         "trained against top layers re-drawn, five attribution methods",
                         figures.sanity_figure(shown, correlations, numbers["sentence"]))


def _share_on_garment(image: torch.Tensor, saliency: torch.Tensor) -> float:
    """The share of a saliency map's total that falls on the garment (pixels above the black
    background, -1 after preprocessing)."""
    total = float(saliency.sum())
    return float(saliency[image > -0.9].sum()) / total if total > 0 else 0.0


def targeted_part(models: dict, metrics: dict, x, y, logits: dict, s: VisualSettings, device) -> tuple[dict, list[Page]]:
    """For one correctly classified test image per class, gradient steps until the network
    gives the class it most often confuses it with; the sizes of the change needed."""
    shown, numbers, medians = {}, {"steps": s.fooling_steps, "step": s.fooling_step}, {}
    for key, (label, model) in models.items():
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
        numbers[key] = {"classes": classes, "indices": idx.tolist(), "targets": targets.tolist(), "reached": ok.tolist(),
                        "steps": r["steps"].tolist(), "l2": r["l2"].tolist(), "linf": r["linf"].tolist(),
                        "median_l2": medians[key.upper()][0], "median_linf": medians[key.upper()][1],
                        "l2_quartiles": quartiles}
        first = torch.tensor([int((y[idx] == k).nonzero()[0, 0]) for k in classes])  # the page shows one a class
        shown[key.upper()] = {"before": x[idx[first], 0], **{k: v[first] for k, v in r.items()},
                              "targets": targets[first], "classes": classes}
    numbers["sentence"] = fooling.fooling_sentence(medians)
    return numbers, series("targeted_fooling", "Targeted fooling (FFN, CNN)", "the change that makes each network "
                           "give a chosen class", figures.targeted_figures(shown, CLASSES, numbers))
