"""What the trained networks learned (analyze.py): each part returns its numbers (for
analysis.json) and its page (for analysis.pdf). Every part reads the same test-set logits
from one prediction pass per network."""
import time
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.metrics import auc, roc_curve
from torch import nn

from . import analysis_plots as aplots
from .attribution import PURITY_TOP, channel_activations, channel_gradient, class_share, pick_channels, stage_output
from .data import CLASSES, stratified
from .fooling import greedy, random_pixels
from .kernels import feature_stages
from .layers import layer_table
from .metrics import example
from .report import Page
from .training import EVAL_BATCH


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


def penultimate(model: nn.Module, x: torch.Tensor, device, batch_size: int = EVAL_BATCH) -> tuple[np.ndarray, str]:
    """The input to the last linear layer (one view; no flip averaging) and a description."""
    head = model.classifier
    body = head[:-1] if isinstance(head, nn.Sequential) else nn.Identity()
    last = head[-1] if isinstance(head, nn.Sequential) else head
    model.eval()
    with torch.no_grad():
        feats = torch.cat([body(model.features(x[i:i + batch_size].to(device))).cpu()
                           for i in range(0, len(x), batch_size)])
    return feats.numpy(), f"the {last.in_features} inputs of the last linear layer"


def layers_part(label: str, key: str, model) -> tuple[dict, Page]:
    table = layer_table(model)
    t = table["totals"]["total"]
    return table, Page(f"{key}_layers", f"Spec 000, layers ({key.upper()})",
                       f"{t['parameters']:,} parameters, {t['neurons']:,} neurons",
                       aplots.layer_table_figure(label, table))


def pick_right_wrong(x, y, logits, seed: int) -> list[dict]:
    """4 random correct predictions (seeded), then the 4 most confident mistakes."""
    probs = logits.softmax(1)
    pred = probs.argmax(1)
    right, wrong = (pred == y).nonzero().flatten(), (pred != y).nonzero().flatten()
    gen = torch.Generator().manual_seed(seed)
    right = right[torch.randperm(len(right), generator=gen)[:4]].sort().values
    wrong = wrong[probs[wrong].amax(1).argsort(descending=True)[:4]]
    return [example(x, y, probs, int(i)) for i in torch.cat([right, wrong])]


def right_wrong_part(label: str, key: str, x, y, logits, seed: int) -> tuple[list, Page]:
    chosen = pick_right_wrong(x, y, logits, seed)
    return chosen, Page(f"{key}_right_wrong", f"Spec 003, right and wrong ({key.upper()})",
                        "4 correct, and the 4 most confident mistakes",
                        aplots.right_wrong_figure(label, chosen))


def roc(y: torch.Tensor, logits: torch.Tensor) -> dict:
    """One-vs-rest ROC curve and AUC per class from softmax scores; macro AUC is their mean."""
    probs = logits.softmax(1).numpy()
    classes = {}
    for k, name in enumerate(CLASSES):
        fpr, tpr, _ = roc_curve((y == k).numpy(), probs[:, k])
        classes[name] = {"fpr": fpr, "tpr": tpr, "auc": float(auc(fpr, tpr))}
    return {"classes": classes, "macro_auc": float(np.mean([c["auc"] for c in classes.values()]))}


def guided_part(model, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
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
    return numbers, Page("cnn_guided_backprop", "Spec 000, guided backpropagation (CNN)",
                         f"10 channels of {stage}", aplots.guided_backprop_figure(rows, saliency, where, numbers["how_chosen"]))


def stage_shape(model, stage: str, device) -> list[int]:
    with torch.no_grad():
        return list(stage_output(model.features, torch.zeros(1, 1, 28, 28, device=device), stage).shape[1:])


def class_maps_part(model, x, y, s: AnalysisSettings) -> tuple[dict, Page]:
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
            Page("cnn_class_feature_maps", "Spec 004, feature maps per class (CNN)",
                 "every conv stage for one image of each class",
                 aplots.class_feature_maps_figure(x[indices, 0].numpy(), names, indices, stages, s.map_channels)))


def roc_part(labels: dict, y: torch.Tensor, logits: dict) -> tuple[dict, Page]:
    """ROC of every network (`labels` and `logits` keyed alike): AUCs for analysis.json, one page."""
    curves = {labels[key]: roc(y, logits[key]) for key in logits}
    numbers = {key: {"macro_auc": curves[labels[key]]["macro_auc"],
                     "auc": {k: c["auc"] for k, c in curves[labels[key]]["classes"].items()}} for key in logits}
    return numbers, Page("roc", "Spec 003, ROC curves", "one-vs-rest, per class and macro AUC",
                         aplots.roc_figure(curves, CLASSES))


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
                 aplots.tsne_figure(embeddings, CLASSES, note)))


def tsne(features: np.ndarray, seed: int) -> np.ndarray:
    perplexity = min(30.0, max(2.0, (len(features) - 1) / 3))
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)


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
                         aplots.fooling_figure(list(s.random_counts), random_acc, greedy_acc, greedy_note,
                                               random_note, fooled))
