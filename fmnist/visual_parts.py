"""analyze.py's four optimisation pages: each part returns its numbers (for analysis.json) and
its page (for analysis.pdf), like the parts of fmnist/analysis.py."""
from dataclasses import dataclass

import numpy as np
import torch

from . import visual_plots as vplots
from . import visualise as vis
from .data import CLASSES
from .report import Page


@dataclass(frozen=True)
class VisualSettings:
    ascent: vis.Ascent = vis.Ascent()            # class models: logits of a few units
    channel: vis.Ascent = vis.Ascent(l2=0.01)    # channels: mean activations, tenths of a unit, so a lighter L2
    fooling_steps: int = 200
    fooling_step: float = 0.1    # L2 length of one step on a 28 x 28 input in [-1, 1]


QUICK = VisualSettings(vis.Ascent(steps=20), vis.Ascent(steps=20, l2=0.01), fooling_steps=20)


def class_models_part(models: dict, s: VisualSettings, device) -> tuple[dict, Page]:
    """The class model of every class for both networks."""
    numbers, shown = {"method": s.ascent.describe()}, {}
    for key, (label, model) in models.items():
        r = vis.class_models(model, len(CLASSES), s.ascent, device)
        shown[key.upper()] = r
        numbers[key] = {"probability": r["probability"].tolist(), "logit": r["logit"].tolist(),
                        "grey_logit": r["grey_logit"].tolist(), "predicted": r["predicted"].tolist()}
    return numbers, Page("class_models", "Class models (FFN, CNN)", "the input that maximises each class's logit",
                         vplots.class_models_figure(shown, CLASSES, numbers["method"]))


def channel_part(model, q9: dict, x: torch.Tensor, s: VisualSettings, device) -> tuple[dict, Page]:
    """For question 9's channels of each conv stage: the optimised input (cropped to the
    stage's receptive field) beside the channel's top test patches; the mean activation it
    reaches against the best test image's."""
    rows, numbers = [], {"method": s.channel.describe() + "; objective: the channel's mean activation over positions",
                         "stages": []}
    x = x.to(device)
    for stage in q9["patches"]:
        channels = [c["channel"] for c in stage["channels"]]
        r = vis.channel_visuals(model, stage["stage"], channels, s.channel, device)
        means = vis.channel_means(model, x, stage["stage"]).cpu()
        best = means[:, channels].amax(0)
        numbers["stages"].append({"stage": stage["stage"], "receptive_field": stage["receptive_field"],
                                  "channels": channels, "optimised": r["activation"].tolist(),
                                  "best_test_image": best.tolist()})
        for k, ch in enumerate(stage["channels"]):
            rows.append({"stage": stage["stage"], "channel": ch["channel"], "field": stage["receptive_field"],
                         "visual": vis.crop(r["images"][k, 0], stage["receptive_field"]).numpy(),
                         "reached": float(r["activation"][k]), "best": float(best[k]),
                         "patches": [np.asarray(p["pixels"], dtype=float).reshape(int(len(p["pixels"]) ** 0.5), -1)
                                     / 127.5 - 1 for p in ch["patches"][:4]]})
    return numbers, Page("channel_visualisations", "Channel visualisations (CNN)",
                         "optimised inputs beside top-activating patches",
                         vplots.channel_figure(rows, numbers["method"]))


def saliency_part(models: dict, examples: dict, x: torch.Tensor, device) -> tuple[dict, Page]:
    """|d score / d input| and guided backpropagation of the predicted class's logit, for each
    network's right and wrong examples."""
    shown, numbers = {}, {}
    for key, (label, model) in models.items():
        idx = torch.tensor([e["index"] for e in examples[key]])
        pred = torch.tensor([e["pred"] for e in examples[key]], device=device)
        plain = vis.saliency(model, x[idx].to(device), pred, guided_relu=False).cpu()
        guided = vis.saliency(model, x[idx].to(device), pred, guided_relu=True).cpu()
        shown[key.upper()] = {"images": x[idx, 0], "plain": plain, "guided": guided, "examples": examples[key]}
        inside = [_share_on_garment(x[i, 0], m) for i, m in zip(idx, plain)]
        numbers[key] = {"indices": idx.tolist(), "saliency_on_garment": inside}
    return numbers, Page("saliency", "Saliency (FFN, CNN)", "where each network looks, beside guided backpropagation",
                         vplots.saliency_figure(shown))


def _share_on_garment(image: torch.Tensor, saliency: torch.Tensor) -> float:
    """The share of a saliency map's total that falls on the garment (pixels above the black
    background, -1 after preprocessing)."""
    total = float(saliency.sum())
    return float(saliency[image > -0.9].sum()) / total if total > 0 else 0.0


def targeted_part(models: dict, metrics: dict, x, y, logits: dict, s: VisualSettings, device) -> tuple[dict, Page]:
    """For one correctly classified test image per class, gradient steps until the network
    gives the class it most often confuses it with; the sizes of the change needed."""
    shown, numbers, medians = {}, {"steps": s.fooling_steps, "step": s.fooling_step}, {}
    for key, (label, model) in models.items():
        right = logits[key].argmax(1) == y
        classes = [k for k in range(len(CLASSES)) if ((y == k) & right).any()]  # a class with none right is left out
        idx = torch.stack([((y == k) & right).nonzero()[0, 0] for k in classes])
        targets = torch.tensor(vis.most_confused(metrics["networks"][key]["test"]["confusion"]))[classes]
        r = vis.targeted(model, x[idx].to(device), targets.to(device), s.fooling_steps, s.fooling_step)
        ok = r["reached"]
        medians[key.upper()] = (float(r["l2"][ok].median()) if ok.any() else float("nan"),
                                float(r["linf"][ok].median()) if ok.any() else float("nan"))
        numbers[key] = {"classes": classes, "indices": idx.tolist(), "targets": targets.tolist(), "reached": ok.tolist(),
                        "steps": r["steps"].tolist(), "l2": r["l2"].tolist(), "linf": r["linf"].tolist(),
                        "median_l2": medians[key.upper()][0], "median_linf": medians[key.upper()][1]}
        shown[key.upper()] = {"before": x[idx, 0], **r, "targets": targets, "classes": classes}
    numbers["sentence"] = vis.fooling_sentence(medians)
    return numbers, Page("targeted_fooling", "Targeted fooling (FFN, CNN)", "the change that makes each network "
                         "give a chosen class", vplots.targeted_figure(shown, CLASSES, numbers))
