"""Guided backpropagation (Springenberg et al., 2015) on a conv stage's channels, with the
statistics it is read by: which channels a class excites most, chosen on one set of images
and described on another, and where on the garment each map's positive part falls. Shared
by analyze.py (the hand-in CNN) and experiments.py reference (spec 000's network).

Guided backpropagation passes a gradient back through a ReLU only where the ReLU's output
was positive *and* the incoming gradient is positive, so the map keeps the input pixels that
raise the chosen neuron. The ReLU modules are swapped for a function with that backward pass
for the duration of the `guided` context; it computes out of place, so the networks' in-place
ReLUs are no problem. Targets are channels of a named `features` stage, computed by running
`features` once (never the flip-averaged `forward`, which would run it twice).
"""
import contextlib
from collections import Counter

import numpy as np
import torch
from torch import nn

from fmnist.core.activations import REGION_WORDS, edge_words, favoured, orientation, response_shares
from fmnist.core.data import CLASSES
from fmnist.core.training import EVAL_BATCH


class _GuidedReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        out = x.clamp(min=0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad.clamp(min=0) * (out > 0)


@contextlib.contextmanager
def guided(model: nn.Module):
    """Within the block, every nn.ReLU of `model` back-propagates the guided way."""
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    for m in relus:
        m.forward = _GuidedReLU.apply
    try:
        yield model
    finally:
        for m in relus:
            del m.forward  # back to the class's own forward


def stage_output(features: nn.Sequential, x: torch.Tensor, stage: str) -> torch.Tensor:
    """Run `features` up to and including the child named `stage`; return its output."""
    for name, layer in features.named_children():
        x = layer(x)
        if name == stage:
            return x
    raise KeyError(f"no stage {stage!r} in features")


def channel_gradient(model: nn.Module, x: torch.Tensor, stage: str, channels, guided_relu: bool) -> torch.Tensor:
    """d(sum over positions of channel c of `stage`) / d(input), one map per image:
    x (N, 1, H, W) and channels (N,) -> (N, 1, H, W). Guided or plain gradient."""
    model.eval()
    x = x.clone().requires_grad_(True)
    with guided(model) if guided_relu else contextlib.nullcontext():
        out = stage_output(model.features, x, stage)  # (N, C, h, w)
        picked = out[torch.arange(len(x)), torch.as_tensor(channels)]  # (N, h, w)
        (grad,) = torch.autograd.grad(picked.sum(), x)
    return grad.detach()


def channel_activations(model: nn.Module, x: torch.Tensor, stage: str, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """The strongest response of each channel of `stage` per image: (N, C), max over positions."""
    model.eval()
    with torch.no_grad():
        return torch.cat([stage_output(model.features, x[i:i + batch_size], stage).amax(dim=(2, 3))
                          for i in range(0, len(x), batch_size)])


PURITY_TOP = 20  # a channel is labelled with a class by the share of that class in its top 20 images


def class_share(activations: torch.Tensor, labels: torch.Tensor, k: int, top: int = PURITY_TOP) -> torch.Tensor:
    """Per channel: the fraction of its `top` most activating images that are of class k."""
    best = activations.argsort(0, descending=True)[:top]        # (top, C) image indices
    return (labels[best] == k).float().mean(0)


def pick_channels(activations: torch.Tensor, labels: torch.Tensor, count: int = 10) -> list[int]:
    """One channel per class, in class order: the unpicked channel whose top PURITY_TOP images
    hold the largest share of that class (ties: the larger mean activation on the class over
    the mean on all images). So a channel labelled with a class is one that class excites most."""
    overall = activations.mean(0).clamp(min=1e-6)
    chosen = []
    for k in range(count):
        members = labels == k % 10
        ratio = activations[members].mean(0) / overall if members.any() else overall
        score = class_share(activations, labels, k % 10) * 1e3 + ratio / (ratio.max() + 1e-9)
        for c in score.argsort(descending=True).tolist():
            if c not in chosen:
                chosen.append(c)
                break
    return chosen


CONTROL_SEED = 1000  # the re-drawn control network's seed: the run's (or the analysis's) seed plus this
SAVED = ("channel", "picked_for", "chosen_share", "share", "indices", "activations", "classes", "region", "quadrant",
         "quadrant_share", "edges", "control_region", "control_quadrant", "control_edges")  # a record: no arrays


def traced(maps: torch.Tensor) -> str:
    """The direction of the lines a channel's maps (N, H, W) trace: edge_words of the structure
    tensor of their positive parts (the pixels that raise the channel)."""
    return edge_words(orientation([m.clamp(min=0).numpy() for m in maps]))


def saved(row: dict) -> dict:
    """A channel of guided_channels as its JSON record keeps it: the SAVED numbers it has."""
    return {k: row[k] for k in SAVED if k in row}


def stage_shape(model: nn.Module, stage: str, device) -> list[int]:
    """The (C, h, w) of a `features` stage's output for one 28 x 28 image."""
    with torch.no_grad():
        return list(stage_output(model.features, torch.zeros(1, 1, 28, 28, device=device), stage).shape[1:])


def guided_channels(model: nn.Module, stage: str, choose: tuple, describe: tuple, device, count: int = 10,
                    shown: int = 5, control: nn.Module | None = None) -> dict:
    """Guided backpropagation on `count` channels of `stage`, one per class. Each is chosen on the
    images of `choose` (x, y) by pick_channels, then described on `describe`, other images: the
    share of its class among its PURITY_TOP most exciting images there (so the purity it reports
    is not the one it was picked for), its `shown` most exciting images with their guided maps,
    and the region of the garment (activations.REGIONS) that the maps' positive part favours.
    The controls: the same share on the choosing images, the median over every channel of its
    best class's share on the describing images, and 1 / classes for images drawn at random; with
    `control` (the same network with every weight re-drawn), the region and quarter its maps of the
    same channel and images favour: what guided backpropagation shows without any training."""
    (xc, yc), (xd, yd) = choose, describe
    acts_c = channel_activations(model, xc.to(device), stage).cpu()   # (N choose, C)
    acts_d = channel_activations(model, xd.to(device), stage).cpu()   # (N describe, C)
    classes = int(max(int(yc.max()), int(yd.max())) + 1)
    best_share = torch.stack([class_share(acts_d, yd, k) for k in range(classes)]).amax(0)  # (C,)
    rows = []
    for k, c in enumerate(pick_channels(acts_c, yc, count)):
        top = acts_d[:, c].argsort(descending=True)[:shown]
        maps = channel_gradient(model, xd[top].to(device), stage, [c] * len(top), guided_relu=True).cpu()[:, 0]
        shares = response_shares(maps, xd[top, 0])
        where, share = quadrant(maps)
        extra = {}
        if control is not None:
            redrawn = channel_gradient(control, xd[top].to(device), stage, [c] * len(top), guided_relu=True).cpu()[:, 0]
            cs = response_shares(redrawn, xd[top, 0])
            extra = {"control_region": favoured(cs), "control_quadrant": quadrant(redrawn)[0],
                     "control_edges": traced(redrawn)}
        rows.append({"channel": c, "picked_for": CLASSES[k % 10],
                     "chosen_share": float(class_share(acts_c, yc, k % 10)[c]),
                     "share": float(class_share(acts_d, yd, k % 10)[c]), "indices": top.tolist(),
                     "images": xd[top, 0].numpy(), "maps": maps.numpy(), "activations": acts_d[top, c].tolist(),
                     "classes": [CLASSES[int(yd[i])] for i in top], "region": favoured(shares), "shares": shares,
                     "quadrant": where, "quadrant_share": share, "edges": traced(maps), **extra})
    return {"rows": rows, "channels_in_stage": int(acts_d.shape[1]), "chosen_on": len(yc), "described_on": len(yd),
            "median_best_share": float(best_share.median()), "random_share": 1 / classes}


QUADRANTS = ("upper left", "upper right", "lower left", "lower right")
CONCENTRATED = 0.6  # a map whose positive part puts this share in one quarter of the image is local


def quadrant(maps: torch.Tensor) -> tuple[str | None, float]:
    """Where the positive part of a channel's maps (N, H, W) sits: the quarter of the image holding
    the largest share of it, named if that share is at least CONCENTRATED (else None), and the share."""
    pos = maps.clamp(min=0).sum(0)
    h, w = pos.shape[0] // 2, pos.shape[1] // 2
    parts = torch.stack([pos[:h, :w].sum(), pos[:h, w:].sum(), pos[h:, :w].sum(), pos[h:, w:].sum()])
    total = float(parts.sum())
    if total <= 0:
        return None, 0.0
    k = int(parts.argmax())
    share = float(parts[k]) / total
    return (QUADRANTS[k] if share >= CONCENTRATED else None), share


def guided_words(found: dict, stage: str, chosen_on: str, described_on: str) -> str:
    """What the guided-backpropagation channels show, each claim beside its control: how many hold
    their class in over half of their top images on the describing set against the share on the
    choosing set (the selection's own optimism), any channel's best class and random images; and
    where their maps' positive part falls, counted per region."""
    rows = found["rows"]
    held = [r["share"] for r in rows]
    detectors = sum(v > 0.5 for v in held)
    regions = Counter(r["region"] for r in rows)
    where = "; ".join((f"all {n}" if n == len(rows) else str(n)) + " favour " + (REGION_WORDS[r] if r else "no region")
                      for r, n in sorted(regions.items(), key=lambda item: (-item[1], str(item[0]))))
    lines = Counter(r.get("edges") for r in rows)
    traces = (", ".join(f"{n} {edges}" for edges, n in sorted(lines.items(), key=lambda item: (-item[1], item[0])))
              if None not in lines else "")
    local = [r for r in rows if r.get("quadrant")]
    corners = (f" {len(local)} of them put over {100 * CONCENTRATED:.0f} % of it in one quarter of the image ("
               + ", ".join(f"channel {r['channel']}: {r['quadrant']}" for r in local) + ")." if local else
               f" None puts {100 * CONCENTRATED:.0f} % of it in one quarter of the image.")
    if traces:
        corners += f" The lines they trace (each row's label): {traces}."
    if rows and "control_region" in rows[0]:
        same = sum(r["control_region"] == r["region"] for r in rows)
        verdict = (": where the maps fall is the images' doing more than the training's" if 2 * same > len(rows) else
                   ": where the maps fall is the training's")
        corners += (f" With every weight re-drawn, {same} of the {len(rows)} channels' maps of the same images favour "
                    f"the same region{verdict}")
        if traces and "control_edges" in rows[0]:
            alike = sum(r["control_edges"] == r["edges"] for r in rows)
            corners += (f"; {alike} of {len(rows)} trace lines in the same direction, so the direction is "
                        + ("the images' too" if 2 * alike > len(rows) else "what training adds"))
        corners += "."
    return (
        f"{len(rows)} of the {found['channels_in_stage']} channels of {stage}, one per class, chosen on the "
        f"{chosen_on} and described on the {described_on}: in {detectors} of them over half of the {PURITY_TOP} most "
        f"exciting images are of that class (median {100 * float(np.median(held)):.0f} %, against "
        f"{100 * float(np.median([r['chosen_share'] for r in rows])):.0f} % on the images they were chosen on, "
        f"{100 * found['median_best_share']:.0f} % for the median channel's most frequent class and "
        f"{100 * found['random_share']:.0f} % for images drawn at random). Where the maps' positive part falls, "
        f"against each region's share of the pixels: {where}." + corners
    )
