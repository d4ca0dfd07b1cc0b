"""What the trained networks learned (analyze.py): each part returns its numbers (for
analysis.json) and its page (for analysis.pdf). Every part reads the same test-set logits
from one prediction pass per network. This module holds the layer tables, right and wrong
predictions, guided backpropagation, feature maps per class, ROC, t-SNE and the attacks;
optimised.py the optimised images, saliency.py the gradient maps; settings.py their settings."""
import time

import numpy as np
import torch
from torch import nn

from fmnist.analysis import figures, fooling
from fmnist.analysis.fooling import greedy, random_pixels
from fmnist.analysis.settings import AnalysisSettings, VisualSettings
from fmnist.core import plotting, stats
from fmnist.core.data import CLASSES, stratified
from fmnist.core.diagnostics import penultimate, pick_right_wrong, roc, tsne
from fmnist.core.guided import (
    CONTROL_SEED,
    PURITY_TOP,
    channel_gradient,
    guided_channels,
    guided_words,
    saved,
    stage_shape,
)
from fmnist.core.layers import feature_stages, layer_table
from fmnist.core.metrics import mean_purity
from fmnist.core.pages import Page, series
from fmnist.core.words import tsne_words


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
    """Guided backprop on `s.channels` channels of the last conv stage's activated output, chosen
    on the first half of the test images and described on the second half."""
    stage = [name for name, m in model.features.named_children() if isinstance(m, nn.ReLU)][-1]
    half = len(y) // 2
    torch.manual_seed(s.seed + CONTROL_SEED)
    redrawn = type(model)().to(device).eval()  # the same network, every weight drawn afresh
    found = guided_channels(model, stage, (x[:half], y[:half]), (x[half:], y[half:]), device, s.channels,
                            s.top_images, redrawn)
    rows = found["rows"]
    for r in rows:  # indices into the whole test set
        r["indices"] = [half + i for i in r["indices"]]
    first = rows[0]
    plain = channel_gradient(model, x[first["indices"]].to(device), stage, [first["channel"]] * len(first["indices"]),
                             guided_relu=False).cpu()
    saliency = {"channel": first["channel"], "images": first["images"], "maps": plain[:, 0].numpy()}
    shape = " x ".join(map(str, stage_shape(model, stage, device)))
    where = f"features.{stage} ({shape}: the last conv stage after its pool, batch norm and ReLU)"
    chosen_on, described_on = f"test images 0-{half - 1:,}", f"test images {half:,}-{len(y) - 1:,}"
    numbers = {"tensor": where, "how_chosen": f"per class in order, on {chosen_on}, the unpicked channel whose "
               f"{PURITY_TOP} most activating images hold the largest share of that class (ties: the larger ratio of "
               f"its mean activation on the class to its mean on all those images); described on {described_on}",
               "channels": [saved(r) for r in rows],
               **{k: found[k] for k in ("channels_in_stage", "chosen_on", "described_on", "median_best_share",
                                        "random_share")}}
    numbers["sentence"] = guided_words(found, stage, chosen_on, described_on)
    title = (f"Guided backpropagation on {len(rows)} channels of features.{stage} ({shape}, the last conv stage). Each "
             f"row: the 5 of {described_on} that excite the channel most (act: its largest value), each beside "
             "d channel / d pixel through positive ReLU outputs and positive gradients; the last row: plain gradients. "
             "At left: the class's share of the channel's top 20 where described (where chosen), and the quarter of "
             "the image or the region of the garment its maps favour.")
    return numbers, series("cnn_guided_backprop", "Spec 000, guided backpropagation (CNN)", numbers["sentence"],
                           plotting.guided_figures(rows, title, saliency))


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
    """t-SNE of every network's penultimate features on one stratified test subset, beside the
    same recipe on the raw pixels (the control: how much of the grouping the network adds)."""
    subset = stratified(y, s.tsne_per_class, s.seed)
    labels = y[subset].numpy()
    pixels = x[subset].flatten(1).numpy()
    embeddings, features = {}, {}
    for label, model in models.values():
        feats, layer = penultimate(model, x[subset], device)
        embeddings[label], features[label] = (tsne(feats, s.seed), labels, layer), feats
    embeddings[RAW], features[RAW] = (tsne(pixels, s.seed), labels, f"the {pixels.shape[1]} pixels"), pixels
    note = (f"a stratified random subset of {len(subset):,} test images, "
            f"{s.tsne_per_class} per class; scikit-learn's TSNE, perplexity 30; the last panel is the same recipe "
            "on the raw pixels, no network")
    raw = {"plot": mean_purity(embeddings[RAW][0], labels), "features": mean_purity(pixels, labels)}
    shares = {key: {"plot": mean_purity(embeddings[label][0], labels), "features": mean_purity(features[label], labels)}
              for key, (label, _model) in models.items()}
    sentence = " ".join(tsne_words(label, {"points": embeddings[label][0], "labels": labels,
                                           "layer": embeddings[label][2]})
                        + f" In the {features[label].shape[1]} features themselves (before t-SNE) the same share is "
                        f"{100 * shares[key]['features']:.0f} %."
                        for key, (label, _model) in models.items())
    sentence += (f" The control, the same recipe on the raw pixels: {100 * raw['plot']:.0f} % in its plot, "
                 f"{100 * raw['features']:.0f} % in the {pixels.shape[1]} pixels themselves.")
    return ({"note": note, "indices": subset.tolist(), "raw_pixels": raw, "networks": shares, "sentence": sentence},
            Page("tsne", "Spec 003, t-SNE", sentence,
                 plotting.tsne_figure(embeddings, CLASSES, note)))


RAW = "Raw pixels (no network)"


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
                         plotting.fooling_figure(list(s.random_counts), random_acc, greedy_acc, greedy_note,
                                               random_note, fooled))


def robustness_part(models: dict, x, y, device, s: AnalysisSettings) -> tuple[dict, Page]:
    """Accuracy against the size of an L-infinity change to every pixel, FGSM and PGD, both networks."""
    n = min(s.attack_images, len(y))
    size = [2 * e for e in s.epsilons]  # the inputs span [-1, 1]: twice the [0, 1] pixel range
    curves = {"FGSM": {}, "PGD": {}}
    for key, (_label, model) in models.items():
        curves["FGSM"][key.upper()] = fooling.linf_attacks(model, x[:n], y[:n], size, 1, device)
        curves["PGD"][key.upper()] = fooling.linf_attacks(model, x[:n], y[:n], size, s.pgd_steps, device,
                                                          s.pgd_restarts, s.seed)
    sentence = fooling.robustness_words(list(s.epsilons), curves)
    notes = {
        "FGSM": f"the first {n:,} test images, one step of eps x sign(gradient)",
        "PGD": f"the same images: the FGSM image, then {s.pgd_restarts} runs from a random start in the eps-box, each "
        f"{s.pgd_steps} steps of 2.5 eps / {s.pgd_steps} along the gradient's sign, projected into the box; an image "
        "counts as fooled once any of them fools it, so PGD never scores above FGSM",
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


def targeted_part(
    models: dict, metrics: dict, x, y, logits: dict, s: VisualSettings, device
) -> tuple[dict, list[Page]]:
    """For one correctly classified test image per class, gradient steps until the network
    gives the class it most often confuses it with; the sizes of the change needed."""
    shown, numbers, medians = {}, {"steps": s.fooling_steps, "step": s.fooling_step}, {}
    right = torch.stack([logits[key].argmax(1) == y for key in models]).all(0)  # right by every network: paired
    classes = [k for k in range(len(CLASSES)) if ((y == k) & right).any()]  # a class with none right is left out
    idx = torch.cat([((y == k) & right).nonzero().flatten()[:s.fooling_per_class] for k in classes])
    confusion = sum(torch.as_tensor(metrics["networks"][key]["test"]["confusion"]) for key in models)
    targets = torch.tensor(fooling.most_confused(confusion))[y[idx]]  # one rule for both: their summed confusions
    numbers.update(rule="the first test images of each class that every network classifies correctly; the target: "
                   "the class the networks together most often mistake the image's class for")
    for key, (_label, model) in models.items():
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
    both = [all(numbers[k]["reached"][i] for k in models) for i in range(len(idx))]
    paired = [numbers[b]["l2"][i] - numbers[a]["l2"][i] for a, b in [tuple(models)] if len(models) == 2
              for i in range(len(idx)) if both[i]]
    diff = {**stats.median_interval(paired), "paired": True} if len(paired) > 1 else None
    numbers["l2_median_difference"] = diff
    numbers["sentence"] = fooling.fooling_sentence(medians, diff)
    return numbers, series("targeted_fooling", "Targeted fooling (FFN, CNN)", numbers["sentence"],
                           figures.targeted_figures(shown, CLASSES, numbers))
