"""Plain gradient saliency and the attributions of one logit (Integrated Gradients, SmoothGrad,
occlusion), with the sanity check of Adebayo et al. (2018). Guided backpropagation and the
channel statistics it is read with are in fmnist/core/guided.py, shared with the studies.
"""
import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from fmnist.core.guided import guided

# Attributions of one logit to the input pixels, signed, (N, 1, H, W), and the sanity check of
# Adebayo et al. (2018): a map that barely changes when the network's top layers are re-drawn
# shows the image, not what the network learned.

def logit_gradient(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, guided_relu: bool = False) -> torch.Tensor:
    """d logit(class) / d input, signed; with guided_relu, guided backpropagation of that logit."""
    model.eval()
    x = x.clone().requires_grad_(True)
    with guided(model) if guided_relu else torch.enable_grad():
        out = model(x)[torch.arange(len(x)), classes]
        (grad,) = torch.autograd.grad(out.sum(), x)
    return grad.detach()


def integrated_gradients(model: nn.Module, x: torch.Tensor, classes: torch.Tensor,
                         baseline: float | torch.Tensor = -1.0, steps: int = 32) -> torch.Tensor:
    """Integrated Gradients (Sundararajan et al., 2017) from a baseline (a constant, -1 being the
    black background, or an image per input such as `blurred(x)`): (x - baseline) times the mean
    gradient along the straight path, by the midpoint rule; its sum over the pixels approaches
    logit(x) - logit(baseline) (completeness). A pixel equal to the baseline gets 0 whatever the
    network does there: from black, the background is never credited. The path's points go
    through the network several at a time (STACK images a pass)."""
    start = baseline.to(x) if torch.is_tensor(baseline) else torch.full_like(x, baseline)
    alphas = (torch.arange(steps, dtype=x.dtype) + 0.5) / steps
    total = torch.zeros_like(x)
    for part in _parts(len(alphas), len(x)):
        a = alphas[part].to(x.device).view(-1, 1, 1, 1, 1)
        points = (start + a * (x - start)).flatten(0, 1)
        total += logit_gradient(model, points, classes.repeat(len(part))).view(len(part), *x.shape).sum(0)
    return (x - start) * total / steps


def blurred(x: torch.Tensor, sigma: float = 4.0) -> torch.Tensor:
    """x (N, C, H, W) through a Gaussian blur of `sigma` pixels (reflected at the border): the
    blurred baseline of Sturmfels et al. (2020), which keeps the garment's rough mass but not its
    edges or texture. torchvision's gaussian_blur, computed here as two 1-D passes: importing
    torchvision would cost analyze.py about 1.5 s (tests check the two agree)."""
    size = min(2 * math.ceil(3 * sigma) + 1, 2 * (min(x.shape[-2:]) // 2) - 1)
    t = torch.linspace(-(size - 1) / 2, (size - 1) / 2, size, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    out = F.pad(x, [size // 2] * 4, mode="reflect")
    out = F.conv2d(out, k.view(1, 1, 1, size).expand(c, 1, 1, size), groups=c)  # along rows
    return F.conv2d(out, k.view(1, 1, size, 1).expand(c, 1, size, 1), groups=c)  # along columns


STACK = 512  # images a pass when integrated gradients and SmoothGrad send many copies of a batch through
# (on 2 cores the CNN's gradients run about 20 % faster at 512 than at 2,048, the FFN's as fast)


def _parts(copies: int, batch: int) -> list[range]:
    """The copies of a batch, in runs that send at most STACK images through at once."""
    per = max(1, STACK // max(1, batch))
    return [range(i, min(i + per, copies)) for i in range(0, copies, per)]


def smoothgrad(model: nn.Module, x: torch.Tensor, classes: torch.Tensor, sigma: float = 0.2, samples: int = 16,
               seed: int = 0) -> torch.Tensor:
    """SmoothGrad (Smilkov et al., 2017): the gradient averaged over copies of x with Gaussian
    noise of standard deviation `sigma` (the inputs span [-1, 1]); sigma 0 is the gradient. The
    noisy copies go through the network several at a time (STACK images a pass)."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros_like(x)
    for part in _parts(samples, len(x)):
        noise = torch.randn((len(part), *x.shape), generator=gen).to(x.device)
        noisy = (x + sigma * noise).flatten(0, 1)
        total += logit_gradient(model, noisy, classes.repeat(len(part))).view(len(part), *x.shape).sum(0)
    return total / samples


def occlusion(
    model: nn.Module, x: torch.Tensor, classes: torch.Tensor, patch: int = 4, fill: float = -1.0,
    stride: int | None = None
) -> torch.Tensor:
    """How much the logit falls when a patch x patch square is set to `fill` (the background),
    for squares every `stride` pixels (no gradients, so fair between networks). stride == patch
    (the default): a grid, each pixel gets the fall of its square; a smaller stride: squares that
    overlap, each pixel the mean fall of the squares that cover it (no grid lines in the map)."""
    model.eval()
    stride = stride or patch
    n, _, h, w = x.shape
    out, cover = torch.zeros_like(x), torch.zeros(1, 1, h, w, device=x.device)
    rows = torch.arange(n)
    with torch.no_grad():
        base = model(x)[rows, classes]
        for i in range(0, h - patch + stride if stride < patch else h, stride):
            for j in range(0, w - patch + stride if stride < patch else w, stride):
                covered = x.clone()
                covered[:, :, i:i + patch, j:j + patch] = fill
                out[:, :, i:i + patch, j:j + patch] += (base - model(covered)[rows, classes]).view(n, 1, 1, 1)
                cover[:, :, i:i + patch, j:j + patch] += 1
    return out / cover.clamp(min=1)


METHODS = {"gradient": lambda m, x, c: logit_gradient(m, x, c),
           "guided backprop": lambda m, x, c: logit_gradient(m, x, c, guided_relu=True),
           "integrated gradients": lambda m, x, c: integrated_gradients(m, x, c, steps=64),
           "SmoothGrad": lambda m, x, c: smoothgrad(m, x, c, samples=8), "occlusion": occlusion}


def randomised_top(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of `model` with its top layers (`classifier`) re-initialised: the cascading model
    randomisation of Adebayo et al. (2018), stopped after the classifier."""
    copy_ = copy.deepcopy(model)
    torch.manual_seed(seed)
    for m in copy_.classifier.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return copy_.eval()


def layer_groups(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    """The layers with weights in forward order, each batch norm with the layer before it:
    [(the layer's name, [its modules]), ...]."""
    groups = []
    for name, module in model.named_modules():
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and groups:
            groups[-1][1].append(module)
        else:
            groups.append((name.split(".")[-1], [module]))
    return groups


def cascade(model: nn.Module, seed: int = 0) -> list[tuple[str, nn.Module]]:
    """The cascading model randomisation of Adebayo et al. (2018): copies of `model` with its
    layers re-initialised one more at a time from the logits down to the first layer,
    [(the lowest layer re-drawn, the copy), ...]; each layer is drawn from its own seed."""
    current, out = copy.deepcopy(model), []
    named = dict(layer_groups(current))
    for k, name in enumerate(reversed(list(named))):
        torch.manual_seed(seed + k)
        for module in named[name]:
            module.reset_parameters()
        out.append((name, copy.deepcopy(current).eval()))
    return out


def redrawn(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of `model` with every layer re-drawn, as the cascade's last step draws them (each
    layer from its own seed, from the logits down), without the cascade's intermediate copies."""
    current = copy.deepcopy(model)
    for k, (_, modules) in enumerate(reversed(layer_groups(current))):
        torch.manual_seed(seed + k)
        for module in modules:
            module.reset_parameters()
    return current.eval()


def independent(model: nn.Module, seed: int = 0) -> list[tuple[str, nn.Module]]:
    """The independent layer randomisation of Adebayo et al. (2018): one copy of `model` per layer,
    in forward order, with that layer alone re-initialised (from seed + its index) and every other
    layer as trained, [(the layer re-drawn, the copy), ...]."""
    out = []
    for k, (name, _) in enumerate(layer_groups(model)):
        current = copy.deepcopy(model)
        torch.manual_seed(seed + k)
        for module in dict(layer_groups(current))[name]:
            module.reset_parameters()
        out.append((name, current.eval()))
    return out


SSIM_WINDOW = 7  # SSIM's uniform window (pixels a side), skimage's default


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = SSIM_WINDOW, scaled: bool = True) -> list[float]:
    """Per image, the mean structural similarity (Wang et al. 2004) of two maps' absolute values,
    each divided by its own largest (`scaled`; Adebayo et al.'s normalisation): the statistics of a
    uniform `window` x `window` window at every position where it fits, sample (co)variances,
    K1 = 0.01 and K2 = 0.03 on the range [0, 1], as skimage's structural_similarity computes it."""
    def ready(m: torch.Tensor) -> torch.Tensor:
        m = m.abs().double().reshape(len(m), 1, *m.shape[-2:])
        return m / m.amax((1, 2, 3), keepdim=True).clamp(min=1e-300) if scaled else m
    a, b = ready(a), ready(b)
    pool = lambda m: torch.nn.functional.avg_pool2d(m, window, stride=1)  # noqa: E731
    n = window * window
    mu_a, mu_b = pool(a), pool(b)
    var_a = (pool(a * a) - mu_a ** 2) * n / (n - 1)
    var_b = (pool(b * b) - mu_b ** 2) * n / (n - 1)
    cov = (pool(a * b) - mu_a * mu_b) * n / (n - 1)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return index.mean((1, 2, 3)).tolist()


def rank_correlation(a: torch.Tensor, b: torch.Tensor, where: torch.Tensor | None = None,
                     signed: bool = False) -> list[float]:
    """Per image, the Spearman rank correlation of two maps' absolute values (or, `signed`, of the
    values themselves), over the pixels `where` is true for (all of them when None): a mask
    leaves out pixels where both maps are zero by construction, whose ties would raise it."""
    from scipy.stats import spearmanr
    out = []
    for i, (p, q) in enumerate(zip(a, b)):
        keep = torch.ones_like(p, dtype=torch.bool) if where is None else where[i].expand_as(p)
        p, q = (p[keep], q[keep]) if signed else (p[keep].abs(), q[keep].abs())
        out.append(float(spearmanr(p.flatten().numpy(), q.flatten().numpy())[0]))
    return out
