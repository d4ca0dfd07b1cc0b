"""What the networks see, by optimisation (analyze.py): class models (Simonyan, Vedaldi and
Zisserman 2014), channel visualisations (Olah et al., Distill 2017), gradient saliency, and
targeted fooling (Szegedy et al. 2014). Every optimisation works on a batch of inputs in
[-1, 1] (the preprocessed range) with the network in evaluation mode, seeded, so the same
seed gives the same images.
"""
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from fmnist.analysis.attribution import stage_output
from fmnist.core.training import EVAL_BATCH


@dataclass(frozen=True)
class Ascent:
    """Gradient ascent on the input: Adam at `lr` for `steps`, an L2 penalty `l2` x mean(x^2),
    a random shift of up to `jitter` pixels each step, a 3x3 blur every `blur_every` steps
    (0: never), the input clamped to [-1, 1] after every step, starting from grey (0)."""
    steps: int = 150
    lr: float = 0.05
    l2: float = 0.3
    jitter: int = 2
    blur_every: int = 10
    seed: int = 0

    def describe(self) -> str:
        return (f"{self.steps} steps of Adam (lr {self.lr:g}) from a grey image, L2 penalty {self.l2:g} x mean(x^2), "
                f"a random shift of up to {self.jitter} pixels each step, a 3x3 blur every {self.blur_every} steps, "
                "clamped to [-1, 1]")


def _blur(x: torch.Tensor) -> torch.Tensor:
    kernel = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]], device=x.device) / 16
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel.view(1, 1, 3, 3))


def ascend(objective, n: int, s: Ascent, device) -> torch.Tensor:
    """Inputs (n, 1, 28, 28) that maximise objective(x) -> (n,) (each its own term)."""
    gen = torch.Generator().manual_seed(s.seed)
    x = torch.zeros(n, 1, 28, 28, device=device, requires_grad=True)
    optimizer = torch.optim.Adam([x], lr=s.lr)
    for step in range(s.steps):
        dy, dx = (int(v) for v in torch.randint(-s.jitter, s.jitter + 1, (2,), generator=gen))
        shifted = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        loss = -(objective(shifted) - s.l2 * shifted.pow(2).mean(dim=(1, 2, 3))).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            if s.blur_every and (step + 1) % s.blur_every == 0 and step + 1 < s.steps:
                x.copy_(_blur(x))
            x.clamp_(-1, 1)
    return x.detach()


def class_models(model: nn.Module, classes: int, s: Ascent, device) -> dict:
    """For each class, the input that maximises its logit; with each one's logit, the grey
    start's logit and its softmax probability of that class."""
    model.eval()
    wanted = torch.arange(classes, device=device)
    images = ascend(lambda x: model(x)[wanted, wanted], classes, s, device)
    with torch.no_grad():
        logits = model(images)
        grey = model(torch.zeros(1, 1, 28, 28, device=device))[0]
    return {"images": images.cpu(), "logit": logits[wanted, wanted].cpu(), "grey_logit": grey.cpu(),
            "probability": logits.softmax(1)[wanted, wanted].cpu(), "predicted": logits.argmax(1).cpu()}


def channel_means(model: nn.Module, x: torch.Tensor, stage: str, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Each channel's mean activation over positions at `stage`, per image: (N, C)."""
    model.eval()
    with torch.no_grad():
        return torch.cat([stage_output(model.features, x[i:i + batch_size], stage).mean(dim=(2, 3))
                          for i in range(0, len(x), batch_size)])


def _before(features: nn.Sequential, stage: str) -> str:
    """The child before `stage` when `stage` is a ReLU (its input: the pre-activation), else `stage`."""
    names = [name for name, _ in features.named_children()]
    i = names.index(stage)
    return names[i - 1] if isinstance(getattr(features, stage), nn.ReLU) and i > 0 else stage


def channel_visuals(model: nn.Module, stage: str, channels: list[int], s: Ascent, device) -> dict:
    """For each channel of `stage`, the input that maximises its mean activation, and the mean
    activation it reaches. Where the stage is a ReLU the ascent climbs a smooth ReLU (softplus)
    of its input, whose gradient is never zero, so a channel that is off everywhere on grey
    still moves; the activation reported is the ReLU's own."""
    model.eval()
    index = torch.as_tensor(channels, device=device)
    maps = lambda x, at: stage_output(model.features, x, at)[torch.arange(len(x)), index]  # noqa: E731
    before = _before(model.features, stage)
    smooth = (lambda x: F.softplus(maps(x, before), beta=4).mean(dim=(1, 2))) if before != stage else \
        (lambda x: maps(x, stage).mean(dim=(1, 2)))
    images = ascend(smooth, len(channels), s, device)
    mean = lambda x: maps(x, stage).mean(dim=(1, 2))  # noqa: E731
    with torch.no_grad():
        reached = mean(images)
    return {"images": images.cpu(), "activation": reached.cpu()}


def crop(image: torch.Tensor, size: int) -> torch.Tensor:
    """The centre size x size window of a (28, 28) image (the receptive field of a centre unit)."""
    size = min(size, image.shape[-1])
    top = (image.shape[-1] - size) // 2
    return image[..., top:top + size, top:top + size]
