"""What a network's layers respond to: the output of every ReLU for a batch of images, and
where on the garment a channel's response falls (the background, the garment's outline or
its interior; the third of its height). Shared by the hand-in's question 9 and the studies' feature-map inspection."""
import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import binom
from torch import nn

from fmnist.core.device import to_device
from fmnist.core.training import EVAL_BATCH


def stages(model: nn.Module, x: torch.Tensor, device, batch_size: int = EVAL_BATCH) -> list[tuple[str, torch.Tensor]]:
    """The input and the output of every ReLU, in forward order (features, then the hidden
    fully connected layers), in evaluation mode and for the image as it is (no flip averaging)."""
    model.eval()
    outputs: dict[str, list] = {"input": []}
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            h = to_device(x[i:i + batch_size], device)
            outputs["input"].append(h.cpu())
            for part in (model.features, model.classifier):
                for name, layer in part.named_children():
                    h = layer(h)
                    if isinstance(layer, nn.ReLU):
                        outputs.setdefault(name, []).append(h.cpu().clone())
    return [(name, torch.cat(chunks)) for name, chunks in outputs.items()]


GARMENT = -0.8  # a pixel above this (about 25 of 255) is garment, not the black background
REGIONS = ("background", "outline", "interior")


def regions(images: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) images -> (N, 3, 28, 28) masks of REGIONS: the background, the garment's
    outline (garment pixels with a background pixel among their 8 neighbours) and its interior."""
    garment = (images > GARMENT).float()[:, None]
    interior = -F.max_pool2d(-F.pad(garment, (1, 1, 1, 1), value=0.0), 3, stride=1)  # all 9 pixels garment
    return torch.cat([1 - garment, garment - interior, interior], dim=1)


def response_shares(maps: torch.Tensor, images: torch.Tensor) -> dict:
    """Where a channel responds: maps (N, h, w) of one channel, each value spread over the
    pixels it stands for, against the REGIONS of images (N, 28, 28). Returns each region's
    share of the total response and of the pixels (None where the channel never responds), and
    the maps' frame's share of the response and of the pixels ("frame": their outermost rows and
    columns, where a convolution's zero padding acts; None for maps under FRAMED wide), with the
    control: its response per background pixel against the other background pixels' (a channel
    that merely favours the background, which the frame mostly is, gives about 1)."""
    up = F.interpolate(maps[:, None].float().clamp(min=0), size=images.shape[-2:], mode="nearest")  # (N, 1, 28, 28)
    masks = regions(images)
    total = float(up.sum())
    response = {r: float((up * masks[:, k:k + 1]).sum()) / total if total > 0 else None for k, r in enumerate(REGIONS)}
    area = {r: float(masks[:, k].mean()) for k, r in enumerate(REGIONS)}
    frame = None
    if min(maps.shape[-2:]) >= FRAMED:
        background = masks[:, 0]

        def part(mask: torch.Tensor) -> tuple[torch.Tensor, dict]:  # map cells -> pixels, their shares
            px = F.interpolate(mask[None, None], size=images.shape[-2:], mode="nearest")[0, 0]
            return px, {"response": float((up[:, 0] * px).sum()) / total if total > 0 else None,
                        "area": float(px.mean())}

        def density(px: torch.Tensor) -> float:  # the response per background pixel under px
            return float((up[:, 0] * background * px).sum() / (background * px).sum().clamp(min=1))

        ring = torch.ones(maps.shape[-2:])
        ring[1:-1, 1:-1] = 0
        ring_px, frame = part(ring)
        inside = density(1 - ring_px)  # the control: the background pixels off the frame
        frame["against_background"] = density(ring_px) / inside if inside > 0 else None
        frame["sides"] = {}
        for name, at in SIDES.items():
            edge = torch.zeros(maps.shape[-2:])
            edge[at] = 1
            px, frame["sides"][name] = part(edge)
            frame["sides"][name]["against_background"] = density(px) / inside if inside > 0 else None
    return {"response": response, "area": area, "frame": frame, "map_side": int(min(maps.shape[-2:]))}


SIDES = {"top row": (0, slice(None)), "bottom row": (-1, slice(None)), "left column": (slice(None), 0),
         "right column": (slice(None), -1)}  # a map's frame, side by side
FRAMED = 7  # maps at least this wide have a frame to tell from their inside (on a 3x3 map 8 of 9 values are frame)


PADDED = 2.0  # a frame whose background pixels get this multiple of the other background pixels' response


def lit_frame(shares: dict) -> str | None:
    """The part of its maps' frame a response is mostly on: "frame" where the whole frame gets at
    least FAVOURED times its share of the pixels and its background pixels PADDED times the rest of
    the background's response and no one side holds half of it; else the side ("bottom row", ...)
    that does so most; None where none does. There the zero padding (0, mid-grey in [-1, 1] units)
    meets the black background (-1): an edge the image does not have."""
    frame = shares.get("frame")
    if not frame or frame["response"] is None:
        return None

    def lit(p: dict) -> bool:  # None: the rest of the background is silent
        return p["response"] >= FAVOURED * p["area"] and (p["against_background"] is None
                                                          or p["against_background"] >= PADDED)
    sides = {name: p for name, p in frame.get("sides", {}).items() if lit(p)}
    side = max(sides, key=lambda name: sides[name]["response"] / sides[name]["area"]) if sides else None
    if lit(frame) and (side is None or sides[side]["response"] < frame["response"] / 2):
        return "frame"  # no one side holds half of it
    return side


def on_frame(shares: dict) -> bool:
    return lit_frame(shares) is not None


FAVOURED = 1.25  # a region the channels favour gets at least this multiple of its share of the pixels
SHUNNED = 0.3  # ... and a region they are nearly silent on at most this multiple
REGION_WORDS = {"background": "the black background", "outline": "the garment's outline",
                "interior": "the garment's interior"}


def favoured(shares: dict) -> str | None:
    """The region whose share of a response most exceeds its share of the pixels, if it gets
    FAVOURED times that share; None when no region does, or the channel never responds."""
    response, area = shares["response"], shares["area"]
    if response["background"] is None:
        return None
    region = max((r for r in area if area[r] > 0), key=lambda r: response[r] / area[r])
    return region if response[region] / area[region] >= FAVOURED else None


def shunned(shares: dict) -> str | None:
    """The region that gets at most SHUNNED times its share of the pixels in a response, if any."""
    response, area = shares["response"], shares["area"]
    region = min((r for r in area if area[r] > 0), key=lambda r: response[r] / area[r])
    return region if response[region] / area[region] <= SHUNNED else None


def orientation(patches: list[np.ndarray]) -> dict:
    """The dominant edge direction of some patches (each (s, s), pixels): from the summed
    structure tensor of their gradients, the angle of the edges (0 = horizontal, 90 = vertical,
    45 = running down to the right, in image coordinates) and its coherence (0: no direction,
    1: every gradient parallel)."""
    jxx = jyy = jxy = 0.0
    for p in patches:
        gy, gx = np.gradient(np.asarray(p, dtype=float))
        jxx, jyy, jxy = jxx + float((gx * gx).sum()), jyy + float((gy * gy).sum()), jxy + float((gx * gy).sum())
    if jxx + jyy == 0:
        return {"angle": None, "coherence": 0.0}
    gradient = 0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy))  # the gradients' direction; edges run across it
    coherence = float(np.hypot(jxx - jyy, 2 * jxy) / (jxx + jyy))
    return {"angle": float((gradient + 90) % 180), "coherence": coherence}


COHERENT = 0.3  # below this coherence some images (patches, maps) have no single edge direction


def edge_direction(o: dict) -> str | None:
    """'vertical edges', 'diagonal edges (\\)', ... from `orientation`'s angle and coherence; None
    when no direction is coherent enough."""
    if o["angle"] is None or o["coherence"] < COHERENT:
        return None
    a = o["angle"]
    if a < 22.5 or a >= 157.5:
        return "horizontal edges"
    if 67.5 <= a < 112.5:
        return "vertical edges"
    return "diagonal edges (\\)" if a < 67.5 else "diagonal edges (/)"


def edge_words(o: dict) -> str:
    return edge_direction(o) or "no single edge direction"


def edge_density(patches: list[np.ndarray]) -> float:
    """How busy some patches are: the mean gradient magnitude per pixel (intensity units a pixel),
    over the patches: 0 for flat ones, high for stripes, straps and plaid."""
    return float(np.mean([np.hypot(*np.gradient(np.asarray(p, dtype=float))).mean() for p in patches]))


def majority(labels: list, of: int) -> dict:
    """The label that most of `of` things carry (None labels count as things without one):
    {"value": it, or None where it holds no more than half, "count": how many carry the commonest,
    "of": of}."""
    named = [label for label in labels if label]
    top = max(dict.fromkeys(named), key=named.count) if named else None
    count = named.count(top) if top else 0
    return {"value": top if count > of / 2 else None, "count": count, "of": of}


def shared_edges(patches: list[np.ndarray]) -> dict:
    """The edge direction that most of some patches show, each patch read on its own: {"direction":
    edge_direction's words, or None where no direction holds in more than half of them, "count":
    the patches showing the commonest direction, "of": the patches}. Summing the patches first
    would let an X of straps, a vertical and a horizontal edge average out to a diagonal."""
    m = majority([edge_direction(orientation([p])) for p in patches], len(patches))
    return {"direction": m["value"], "count": m["count"], "of": m["of"]}


THIRDS = ("top third", "middle third", "bottom third")  # of the garment's height: collar or shaft, body, hem or sole


def garment_third(image, row: float) -> str | None:
    """Which third of the garment's height, top to bottom, holds row `row` of an image (28, 28)
    (the garment's rows: those with a pixel above GARMENT); None above or below the garment."""
    rows = np.flatnonzero((np.asarray(image) > GARMENT).any(axis=1))
    if rows.size == 0 or not rows[0] - 0.5 <= row <= rows[-1] + 0.5:
        return None
    return THIRDS[min(2, int(3 * (row - rows[0] + 0.5) / (rows[-1] - rows[0] + 1)))]


def majority_chance(pool: list, n: int) -> float:
    """The chance that n labels drawn at random from `pool` (with replacement) give one label a
    majority (more than n/2 of them): the control for `majority` over a channel's n top patches,
    drawn from its stage's patches of every channel. Exact: at most one label can hold a majority."""
    named = [label for label in pool if label]
    return float(sum(binom.sf(n // 2, n, named.count(label) / len(pool)) for label in dict.fromkeys(named)))
