"""What the networks see, by optimisation (analyze.py): class models (Simonyan, Vedaldi and
Zisserman 2014) and channel visualisations (Olah et al., Distill 2017), both regularised
towards the data, and the channel means they are measured against. Every optimisation works
on a batch of inputs in [-1, 1] (the preprocessed range) with the network in evaluation mode;
nothing in it is random, so a run repeats exactly.

The recipe, shared by both: the image is a low-pass view of a free parameter (a Gaussian blur,
then a clamp to [-1, 1] whose gradient passes straight through, so a pixel at the bound can
still move), so it cannot hold pixel-sized noise; it starts from a data image (the
class's mean test image, or the mean test image) and the objective is

    score(x) / best test score  -  strength x (total variation + mean squared distance to that data image)

over the window the score depends on (the unit's receptive field; the whole image for a
class). Adam climbs it until it stops rising (its mean over the last `window` steps gains less
than `tol`, relatively, on the window before). Strengths are tried strongest first, and each
image keeps the strongest at which it reaches its goal (a class probability, or its best test
image's activation): the most data-like image that does what is asked.
"""
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fmnist.core.guided import stage_output
from fmnist.core.layers import field_window, receptive_fields
from fmnist.core.training import EVAL_BATCH


@dataclass(frozen=True)
class Ascent:
    strengths: tuple = (100.0, 30.0, 10.0, 3.0, 1.0, 0.3, 0.1)  # regulariser weights, strongest first
    max_steps: int = 500
    lr: float = 0.1
    window: int = 25        # steps averaged by the stop rule
    tol: float = 1e-3       # the stop rule's relative gain
    sigma: float = 1.0      # the low-pass blur, in pixels
    bound: float = 10.0     # the free parameter's range: past [-1, 1], so the clamped blur can still draw a sharp edge
    goal: float = 0.9       # class models: the probability of the class to reach

    def describe(self) -> str:
        return (f"Adam (lr {self.lr:g}) on an image seen through a Gaussian blur (sigma {self.sigma:g} px) and a "
                "clamp to [-1, 1], "
                f"from the data, until the objective gains less than {self.tol:g} (relative) over {self.window} steps "
                f"(at most {self.max_steps}); objective: the score over the best test image's, minus a strength x "
                "(total variation + squared distance to the data image) over the scored window; each image keeps the "
                f"strongest of {', '.join(f'{v:g}' for v in self.strengths)} at which it reaches its goal")


def lowpass(z: torch.Tensor, sigma: float) -> torch.Tensor:
    """A Gaussian blur of (N, 1, H, W) with radius 2 sigma, edges replicated."""
    r = max(1, math.ceil(2 * sigma))
    g = torch.exp(-torch.arange(-r, r + 1, dtype=z.dtype, device=z.device) ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return F.conv2d(F.pad(z, (r, r, r, r), mode="replicate"), (g[:, None] * g[None]).view(1, 1, 2 * r + 1, 2 * r + 1))


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between neighbouring pixels, per image: (N, 1, H, W) -> (N,)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + (x[..., :, 1:] - x[..., :, :-1]).abs().mean(
        (1, 2, 3)
    )


def plateaued(history: list[float], window: int, tol: float) -> bool:
    """Whether an objective has stopped rising: the mean of its last `window` values gains less
    than `tol` x max(1, |that mean|) on the mean of the `window` before."""
    if len(history) < 2 * window:
        return False
    last, before = sum(history[-window:]) / window, sum(history[-2 * window:-window]) / window
    return last - before < tol * max(1.0, abs(last))


def _window(x: torch.Tensor, box) -> torch.Tensor:
    """The part of (N, 1, H, W) inside box (top, left, size), clipped to the image; all of it for None."""
    if box is None:
        return x
    top, left, size = box
    return x[..., max(top, 0):top + size, max(left, 0):left + size]


def climb(score, data: torch.Tensor, strength: float, s: Ascent, box=None) -> tuple[torch.Tensor, int]:
    """Images (N, 1, 28, 28) that maximise score(x) -> (N,) minus `strength` x (total variation +
    mean squared distance to `data`) inside `box`, from `data`; and the steps it took."""
    z = data.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=s.lr)
    history, near = [], _window(data, box)
    for step in range(1, s.max_steps + 1):  # noqa: B007 (returned after the loop)
        blurred = lowpass(z, s.sigma)
        x = blurred + (blurred.clamp(-1, 1) - blurred).detach()  # clamped, its gradient passed straight through
        w = _window(x, box)
        objective = score(x) - strength * (total_variation(w) + (w - near).pow(2).mean((1, 2, 3)))
        optimizer.zero_grad()
        (-objective.sum()).backward()
        optimizer.step()
        with torch.no_grad():
            z.clamp_(-s.bound, s.bound)
        history.append(float(objective.detach().mean()))
        if plateaued(history, s.window, s.tol):
            break
    with torch.no_grad():
        return lowpass(z, s.sigma).clamp(-1, 1), step


def ladder(score, reached, data: torch.Tensor, s: Ascent, box=None) -> dict:
    """For each row of `data`, the image from the strongest of `s.strengths` at which
    reached(images, rows) -> (n,) bool holds (the weakest when none does): a climb per strength,
    strongest first, of the rows not yet reached. score(x, rows) -> (n,) scores the images of
    those rows."""
    n = len(data)
    images, strength = data.clone(), torch.full((n,), float("nan"), dtype=torch.float64)
    ok, steps = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.long)
    for k, lam in enumerate(s.strengths):
        rows = (~ok).nonzero().flatten().to(data.device)
        if not len(rows):
            break
        found, taken = climb(lambda x: score(x, rows), data[rows], lam, s, box)
        hit = reached(found, rows).cpu()
        keep = hit if k < len(s.strengths) - 1 else torch.ones_like(hit)  # the weakest: kept, reached or not
        at = rows.cpu()[keep]
        images[at], strength[at], steps[at] = found[keep.to(found.device)], lam, taken
        ok[rows.cpu()[hit]] = True
    return {"images": images.detach(), "strength": strength, "steps": steps, "reached": ok}


def prior_only(data: torch.Tensor, strengths: torch.Tensor, s: Ascent, box=None) -> torch.Tensor:
    """The control of an optimised image: the same recipe with the network removed (a score of 0),
    each row climbed from its data image at the strength its own image kept (NaN: the weakest). What
    it draws is the blur, the clamp and the regulariser's doing; an optimised image's distance from
    it is what the network added."""
    strengths = torch.as_tensor(strengths, dtype=torch.float64).nan_to_num(s.strengths[-1])
    out = data.clone()
    for lam in sorted(set(strengths.tolist())):
        rows = (strengths == lam).nonzero().flatten().to(data.device)
        found, _ = climb(lambda x: torch.zeros(len(x), device=x.device), data[rows], lam, s, box)
        out[rows] = found
    return out.detach()


def class_models(model: nn.Module, means: torch.Tensor, best: torch.Tensor, s: Ascent) -> dict:
    """For each class k (means (K, 1, 28, 28): its mean test image; best (K,): its best test
    image's logit), the most data-like image whose softmax probability of k is at least s.goal:
    its logit over `best`, climbed from and pulled towards the class mean."""
    model.eval()
    best = best.to(means.device)
    score = lambda x, rows: model(x)[torch.arange(len(rows)), rows] / best[rows].abs().clamp(min=1e-6)  # noqa: E731

    def reached(x, rows):
        with torch.no_grad():
            return model(x).softmax(1)[torch.arange(len(rows)), rows] >= s.goal

    r = ladder(score, reached, means, s)
    wanted = torch.arange(len(means), device=means.device)
    with torch.no_grad():
        logits = model(r["images"])
    return {**r, "images": r["images"].cpu(), "logit": logits[wanted, wanted].cpu(),
            "probability": logits.softmax(1)[wanted, wanted].cpu(), "predicted": logits.argmax(1).cpu()}


def centre_unit(features: nn.Sequential, stage: str, device) -> tuple[int, int]:
    """The (row, col) of the middle output position of `stage`."""
    with torch.no_grad():
        h, w = stage_output(features, torch.zeros(1, 1, 28, 28, device=device), stage).shape[-2:]
    return h // 2, w // 2


def _before(features: nn.Sequential, stage: str) -> str:
    """The child before `stage` when `stage` is a ReLU (its input: the pre-activation), else `stage`."""
    names = [name for name, _ in features.named_children()]
    i = names.index(stage)
    return names[i - 1] if isinstance(getattr(features, stage), nn.ReLU) and i > 0 else stage


def unit_values(features: nn.Sequential, x: torch.Tensor, stage: str, channels, unit, batch_size: int = EVAL_BATCH):
    """Each image's value of each of `channels` at position `unit` of `stage`: (N, len(channels))."""
    r, c = unit
    with torch.no_grad():
        return torch.cat([stage_output(features, x[i:i + batch_size], stage)[:, channels, r, c]
                          for i in range(0, len(x), batch_size)])


def channel_visuals(model: nn.Module, stage: str, channels: list[int], data: torch.Tensor, best: torch.Tensor,
                    s: Ascent) -> dict:
    """For each channel of `stage`, the most data-like image (climbed from and pulled towards
    `data`, (1, 1, 28, 28), inside the centre unit's receptive field) that drives the channel's
    centre unit to `best` (its best test image's value there) or beyond. The ascent climbs the
    unit's input when the stage is a ReLU (a unit that is off still has a gradient); the value
    reported is the stage's own. Returns the images, the window (top, left, size) they are
    cropped to, and the values reached."""
    model.eval()
    features, device = model.features, data.device
    unit = centre_unit(features, stage, device)
    field = receptive_fields(features)[stage]
    box = (*field_window(field, *unit), field["size"])
    index, best = torch.as_tensor(channels, device=device), best.to(device)
    before = _before(features, stage)
    value = lambda x, at, rows: stage_output(features, x, at)[torch.arange(len(rows)), index[rows], unit[0], unit[1]]  # noqa: E731
    score = lambda x, rows: value(x, before, rows) / best[rows].abs().clamp(min=1e-6)  # noqa: E731

    def reached(x, rows):
        with torch.no_grad():
            return value(x, stage, rows) >= best[rows]

    r = ladder(score, reached, data.expand(len(channels), -1, -1, -1), s, box)
    with torch.no_grad():
        values = value(r["images"], stage, torch.arange(len(channels)))
    return {**r, "images": r["images"].cpu(), "activation": values.cpu(), "unit": list(unit), "box": list(box)}
