"""Optimised images (analyze.py): class models of both networks and the CNN's channel
visualisations, each with its numbers (for analysis.json), its page and its computed sentence."""

import numpy as np
import torch

from fmnist.analysis import ascent, figures
from fmnist.analysis.settings import VisualSettings
from fmnist.core.data import CLASSES
from fmnist.core.layers import crop
from fmnist.core.pages import Page, series
from fmnist.core.words import listing


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


def control_words(n: dict, goal: float) -> str:
    """The class models beside their control, the same recipe without the network: how far the
    recipe alone moves the blurred mean, how far each model lies from that image (what the network
    added), and how many of the no-network images the network already gives their class."""
    span = lambda v: f"{min(v):.1f}-{max(v):.1f}"  # noqa: E731
    already = sum(p >= goal for p in n["control_probability"])
    added, alone = float(np.median(n["from_control"])), float(np.median(n["control_change"]))
    return (f"The control, the same recipe with the network removed, moves the blurred means by "
            f"{span(n['control_change'])} in L2 (the class models move them {span(n['change'])}); the class models lie "
            f"{span(n['from_control'])} from those images (median {added:.1f}, {'more' if added > alone else 'less'} "
            f"than the recipe alone moves them), and the network gives {already} of the "
            f"{len(n['control_probability'])} no-network images their class at {goal:g} already.")


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
        control = ascent.prior_only(means.to(device), r["strength"], s.ascent).cpu()
        with torch.no_grad():
            mean_p = model(means.to(device)).softmax(1).cpu()[classes, classes]
            control_p = model(control.to(device)).softmax(1).cpu()[classes, classes]
        numbers[key] = {"probability": r["probability"].tolist(), "logit": r["logit"].tolist(),
                        "predicted": r["predicted"].tolist(), "strength": r["strength"].tolist(),
                        "steps": r["steps"].tolist(), "reached": r["reached"].tolist(),
                        "best_test_index": top, "best_test_logit": own[top].tolist(),
                        "top_test_index": [[int(order[j]) for order in ranked] for j in range(ranks)],
                        "top_test_logit": [[float(own[order[j]]) for order in ranked] for j in range(ranks)],
                        "mean_image_probability": mean_p.tolist(),
                        "distance_to_mean": (r["images"] - means).flatten(1).norm(dim=1).tolist(),
                        "change": (r["images"] - start).flatten(1).norm(dim=1).tolist(), "typical": typical,
                        "control_change": (control - start).flatten(1).norm(dim=1).tolist(),
                        "from_control": (r["images"] - control).flatten(1).norm(dim=1).tolist(),
                        "control_probability": control_p.tolist()}
        numbers[key]["fooling"] = [d > t for d, t in zip(numbers[key]["distance_to_mean"], typical)]
        made[key] = (label, r, control)
    pages = []
    for key, (label, r, control) in made.items():
        others = [k for k in made if k != key]
        other = None
        if others:
            with torch.no_grad():
                p = models[others[0]][1](r["images"].to(device)).softmax(1).cpu()[classes, classes]
            numbers[key]["other_network_probability"] = p.tolist()
            other = (others[0].upper(), p.tolist())
        n = numbers[key]
        n["sentence"] = (class_model_words(key.upper(), CLASSES, n["probability"], n["distance_to_mean"], typical,
                                           s.ascent.goal, s.typical, n["mean_image_probability"], other)
                         + " " + control_words(n, s.ascent.goal))
        pages.append(Page("class_models" + ("_2" if pages else ""), f"Class models ({key.upper()})", n["sentence"],
                          figures.class_models_figure(label, means[:, 0], control[:, 0], r,
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
            + "; beside each, the test patches that excite the channel most, cropped to the same receptive field."
            + (f" The control, the same recipe with the network removed, leaves the units at "
               f"{min(r['control_value'] / r['best'] for r in rows if r['best'] > 0):.2f}-"
               f"{max(r['control_value'] / r['best'] for r in rows if r['best'] > 0):.2f} of their best test value; "
               f"the channel images lie {min(r['from_control'] for r in rows):.1f}-"
               f"{max(r['from_control'] for r in rows):.1f} from it in L2 over the field."
               if rows and "control_value" in rows[0] and any(r["best"] > 0 for r in rows) else ""))


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
        control = ascent.prior_only(data.expand(len(channels), -1, -1, -1), r["strength"], s.ascent, r["box"]).cpu()
        control_value = ascent.unit_values(model.features, control.to(device), stage["stage"], channels,
                                           unit).diagonal().cpu()  # row k: channel k on its own control
        from_control = torch.stack([crop(a[0], top, left, size) - crop(b[0], top, left, size)
                                    for a, b in zip(r["images"], control)]).flatten(1)
        numbers["stages"].append({"stage": stage["stage"], "unit": r["unit"], "window": r["box"],
                                  "channels": channels, "optimised": r["activation"].tolist(),
                                  "best_test_image": best.tolist(), "strength": r["strength"].tolist(),
                                  "steps": r["steps"].tolist(), "control_value": control_value.tolist(),
                                  "from_control": from_control.norm(dim=1).tolist()})
        for k, ch in enumerate(stage["channels"]):
            rows.append({"stage": stage["stage"], "channel": ch["channel"], "field": size, "unit": r["unit"],
                         "visual": crop(r["images"][k, 0], top, left, size).numpy(),
                         "reached": float(r["activation"][k]), "best": float(best[k]),
                         "strength": float(r["strength"][k]), "steps": int(r["steps"][k]),
                         "control_value": float(control_value[k]), "from_control": float(from_control[k].norm()),
                         "patches": [np.asarray(p["pixels"], dtype=float).reshape(size, size) / 127.5 - 1
                                     for p in ch["patches"][:4]]})
    numbers["sentence"] = channel_words(rows, s.ascent.max_steps)
    return numbers, series("channel_visualisations", "Channel visualisations (CNN)", numbers["sentence"],
                           figures.channel_figures(rows, numbers["method"]))
