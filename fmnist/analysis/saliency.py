"""Where the gradient falls (analyze.py): saliency of right and wrong predictions, the sanity
check against re-drawn weights, and the garment mask both read; numbers, page and sentence."""


import numpy as np
import torch

from fmnist.analysis import attribution, figures
from fmnist.core import stats
from fmnist.core.data import CLASSES
from fmnist.core.pages import Page, series
from fmnist.core.words import listing


def saliency_part(models: dict, examples: dict, x: torch.Tensor, logits: dict, device,
                  seed: int = 0) -> tuple[dict, Page]:
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
        inside = [share_on_garment(image[0], m.abs()) for image, m in zip(sample, grads)]
        area = [float(garment(image[0]).float().mean()) for image in sample]
        redrawn = attribution.redrawn(model, seed)  # the control: every layer re-drawn, the same logits asked
        noise = attribution.logit_gradient(redrawn, sample.to(device), picked).cpu()[:, 0]
        numbers[key] = {"indices": idx.tolist(), "saliency_on_garment": inside, "garment_area": area,
                        "redrawn_on_garment": [share_on_garment(image[0], m.abs()) for image, m in zip(sample, noise)]}
    numbers["sentence"] = saliency_words({k.upper(): v for k, v in numbers.items()})
    return numbers, Page("saliency", "Saliency (FFN, CNN)", numbers["sentence"],
                         figures.saliency_figure(shown))


SALIENCY_SAMPLE = 1000  # the first N test images: where the gradient falls, measured


def garment_ratios(n: dict, on: str = "saliency_on_garment") -> list[float]:
    """Per image, the gradient's share on the garment over the garment's share of the pixels (1: an
    even spread); `on`: the shares to use ("redrawn_on_garment": the re-drawn copy's)."""
    return [a / max(b, 1e-12) for a, b in zip(n[on], n["garment_area"])]


def garment_ratio(n: dict, on: str = "saliency_on_garment") -> tuple[dict, int]:
    """garment_ratios' median with its interval, and which side of 1 it lies (+1 above, -1 below, 0
    not told apart). `n`: {"saliency_on_garment": [...], "garment_area": [...]}."""
    r = stats.median_interval(garment_ratios(n, on))
    side = (1 if r["low"] is not None and r["low"] > 1 else -1 if r["high"] is not None and r["high"] < 1 else 0)
    return r, side


def saliency_words(numbers: dict) -> str:
    """Where each network's gradient falls: its median share on the garment against the garment's
    median share of the pixels ({"FFN": {"saliency_on_garment": [...], "garment_area": [...]}})."""
    parts = []
    for network, n in numbers.items():
        r, sign = garment_ratio(n)
        side = {1: "more on the garment than on the background", -1: "less on the garment than on the background",
                0: "no difference detected between garment and background"}[sign]
        span = "" if r["low"] is None else f", 95 % interval {r['low']:.2f}-{r['high']:.2f}"
        parts.append(f"{network} {100 * float(np.median(n['saliency_on_garment'])):.0f} % on the garment, which covers "
                     f"{100 * float(np.median(n['garment_area'])):.0f} % of the pixels: a median {r['mean']:.2f} times "
                     f"its share{span} ({side})")
    count = len(next(iter(numbers.values()))["saliency_on_garment"])
    return (f"Median share of |gradient| of the predicted class per image, over the first {count:,} test images "
            f"(garment: pixels above {GARMENT:g}, the background being -1): " + "; ".join(parts) + ".")


EXPLAIN_BLUR = 4.0  # the blurred baseline's sigma, in pixels
OCCLUSION = (6, 2)  # the explanations' occlusion: squares of 6 pixels every 2 (overlapping)


def explain_methods(steps: int = 64, samples: int = 50) -> dict:
    """The explanations of single predictions: integrated gradients from two baselines (`steps` path
    steps), SmoothGrad at the paper's settings (`samples` draws) and overlapping occlusion, each of
    the predicted class's logit."""
    patch, stride = OCCLUSION
    return {"IG from black": lambda m, x, c: attribution.integrated_gradients(m, x, c, -1.0, steps=steps),
            "IG from blurred": lambda m, x, c: attribution.integrated_gradients(
                m, x, c, attribution.blurred(x, EXPLAIN_BLUR), steps=steps),
            "SmoothGrad": lambda m, x, c: attribution.smoothgrad(m, x, c, sigma=0.3, samples=samples),
            "occlusion": lambda m, x, c: attribution.occlusion(m, x, c, patch=patch, stride=stride)}


def explain_part(models: dict, examples: dict, x: torch.Tensor, device, s) -> tuple[dict, list[Page]]:
    """Each network's 4 right and 4 wrong predictions explained by every method of explain_methods:
    the maps, each map's share of |attribution| on the background, and each baseline's completeness."""
    numbers, figs = {}, []
    for key, (label, model) in models.items():
        idx = torch.tensor([e["index"] for e in examples[key]])
        xs = x[idx].to(device)
        pred = torch.tensor([e["pred"] for e in examples[key]], device=device)
        maps = {name: f(model, xs, pred).cpu()[:, 0]
                for name, f in explain_methods(s.ig_steps, s.smoothgrad_samples).items()}
        off = ~garment(xs.cpu()[:, 0])
        with torch.no_grad():
            model.eval()
            rows = torch.arange(len(idx))
            score = model(xs)[rows, pred]
            gaps = {"IG from black": score - model(torch.full_like(xs, -1.0))[rows, pred],
                    "IG from blurred": score - model(attribution.blurred(xs, EXPLAIN_BLUR))[rows, pred]}
        numbers[key] = {
            "indices": idx.tolist(), "right": [e["true"] == e["pred"] for e in examples[key]],
            "background_area": float(off.float().mean()),
            "background_share": {m: [float(v[o].abs().sum() / v.abs().sum().clamp(min=1e-12)) for v, o in zip(v_, off)]
                                 for m, v_ in maps.items()},
            "completeness_error": {m: float(((maps[m].sum((1, 2)) - g.cpu()).abs() / g.abs().cpu().clamp(min=1e-6))
                                            .mean()) for m, g in gaps.items()}}
        figs.append(figures.explain_figure(label, examples[key], x[idx, 0], maps, numbers[key]))
    numbers["settings"] = {"blur_sigma": EXPLAIN_BLUR, "occlusion": list(OCCLUSION), "ig_steps": s.ig_steps,
                           "smoothgrad": {"samples": s.smoothgrad_samples, "sigma": 0.3}}
    numbers["sentence"] = explain_words({k.upper(): v for k, v in numbers.items() if k in models})
    return numbers, series("explain", "Explanations of right and wrong predictions", numbers["sentence"], figs)


NOTHING = 0.01  # a mean share of |attribution| below this: the method credits the background nothing


def explain_words(numbers: dict) -> str:
    """What each method credits: its mean share of |attribution| on the background against the
    background's share of the pixels, per network, and the integrated gradients' completeness."""
    methods = list(next(iter(numbers.values()))["background_share"])
    area = ", ".join(f"{n} {100 * v['background_area']:.0f} %" for n, v in numbers.items())
    parts = []
    for m in methods:
        shares = ", ".join(f"{n} {100 * float(np.mean(v['background_share'][m])):.0f} %" for n, v in numbers.items())
        parts.append(f"{m} {shares}")
    zero = [m for m in methods if all(np.mean(v["background_share"][m]) < NOTHING for v in numbers.values())]
    complete = max(e for v in numbers.values() for e in v["completeness_error"].values())
    return (f"Share of |attribution| on the background (which is {area} of the pixels) over each network's 4 right "
            "and 4 wrong predictions: " + "; ".join(parts) + "."
            + (f" {listing(zero)[0].upper() + listing(zero)[1:]} credit{'s' if len(zero) == 1 else ''} the "
               "background next to nothing, by construction (a pixel equal to the baseline gets 0), so "
               f"{'its' if len(zero) == 1 else 'their'} maps cannot say whether a network uses it." if zero else "")
            + right_wrong_words(numbers, [m for m in methods if m not in zero])
            + f" Integrated gradients add up to the change of the logit within {100 * complete:.1f} % from either "
            "baseline.")


def right_wrong_words(numbers: dict, methods: list[str]) -> str:
    """The right predictions' maps against the wrong ones': in how many (network, method) pairs the
    wrong ones put more of |attribution| on the background, and the largest gap; a handful of images
    a side, so a description, not a verdict."""
    gaps = {}
    for network, v in numbers.items():
        right = np.asarray(v.get("right", []), dtype=bool)
        if not right.any() or right.all():
            continue
        for m in methods:
            share = np.asarray(v["background_share"][m])
            gaps[(network, m)] = (float(share[right].mean()), float(share[~right].mean()), int(right.sum()),
                                  int((~right).sum()))
    if not gaps:
        return ""
    more = sum(w > r for r, w, _, _ in gaps.values())
    (network, m), (r, w, n_r, n_w) = max(gaps.items(), key=lambda kv: abs(kv[1][1] - kv[1][0]))
    return (f" Right against wrong predictions: the wrong ones' maps put more on the background in {more} of the "
            f"{len(gaps)} network-method pairs (largest gap: {network} {m}, {100 * w:.0f} % wrong against "
            f"{100 * r:.0f} % right; {n_w} and {n_r} images, too few for an interval, so no verdict).")


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


def checked_images(logits: torch.Tensor, y: torch.Tensor, per_class: int) -> torch.Tensor:
    """The sanity checks' images: the first `per_class` correctly classified test images of each class."""
    right = (logits.argmax(1) == y).nonzero().flatten()
    return torch.cat([right[y[right] == k][:per_class] for k in range(len(CLASSES))])


def sanity_part(models: dict, x, y, logits: dict, device, seed: int = 0) -> tuple[dict, Page]:
    """Every attribution method on correctly classified test images (SANITY_PER_CLASS a class),
    for each network trained and with its top layers re-drawn; the rank correlation between them."""
    shown, correlations, completeness, numbers, shares, floors = {}, {}, {}, {}, {}, {}
    for key, (_label, model) in models.items():
        idx = checked_images(logits[key], y, SANITY_PER_CLASS)
        xs, cs = x[idx].to(device), y[idx].to(device)
        redrawn = attribution.randomised_top(model, seed=seed)
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


def share_on_garment(image: torch.Tensor, saliency: torch.Tensor) -> float:
    """The share of a saliency map's total that falls on the garment (pixels above the black
    background, -1 after preprocessing)."""
    total = float(saliency.sum())
    return float(saliency[garment(image)].sum()) / total if total > 0 else 0.0
