"""The layer table: every layer in forward order with its shapes, parameters, neurons and
multiply-adds per image.

A neuron is one output value of a convolution or linear layer (a conv layer with C output
channels of H x W has C * H * W neurons); pooling, batch norm, activations, dropout and
flatten only transform those values and add none. Multiply-adds are counted for
convolutions and linear layers (the work of everything else is negligible beside them).
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fmnist.core.data import BACKGROUND

KINDS = ((nn.Conv2d, "conv"), (nn.Linear, "linear"), (nn.MaxPool2d, "pool"), (nn.AvgPool2d, "pool"),
         (nn.AdaptiveAvgPool2d, "pool"), (nn.BatchNorm1d, "batch norm"), (nn.BatchNorm2d, "batch norm"),
         (nn.ReLU, "activation"), (nn.GELU, "activation"), (nn.Dropout, "dropout"), (nn.Flatten, "flatten"))
NEURON_DEFINITION = ("a neuron is one output value of a convolution or linear layer; pooling, batch norm, "
                     "activations, dropout and flatten add none")


def kind_of(module: nn.Module) -> str | None:
    return next((kind for cls, kind in KINDS if isinstance(module, cls)), None)


def multiply_adds(module: nn.Module, out: torch.Tensor) -> int:
    """Per image: each output value of a conv costs in_channels/groups x kh x kw multiply-adds,
    each of a linear layer in_features."""
    per_image = out[0].numel()
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_image * module.in_channels // module.groups * kh * kw
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    return 0


def layer_table(model: nn.Module, input_shape=(1, 28, 28)) -> dict:
    """Run one image through `model` (eval mode) and describe every leaf layer it used, once,
    in the order it ran. Part: 'convolutional' for layers under `features` of a network with
    convolutions (the convs and their pools, norms and activations), else 'fully connected'."""
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    rows, seen, handles = [], set(), []

    def record(name):
        def hook(module, inputs, output):
            if name in seen:  # flip averaging runs `features` a second time: count it once
                return
            seen.add(name)
            kind = kind_of(module)
            neurons = output[0].numel() if kind in ("conv", "linear") else 0
            rows.append({"name": name, "kind": kind, "input": list(inputs[0].shape[1:]),
                         "output": list(output.shape[1:]),
                         "parameters": sum(p.numel() for p in module.parameters()),
                         "neurons": neurons, "multiply_adds": multiply_adds(module, output),
                         "part": "convolutional" if has_conv and name.startswith("features.") else "fully connected"})
        return hook

    for name, module in model.named_modules():
        if kind_of(module) is not None:
            handles.append(module.register_forward_hook(record(name)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    totals = {}
    for part in ("convolutional", "fully connected", "total"):
        chosen = [r for r in rows if part == "total" or r["part"] == part]
        if chosen:
            totals[part] = {k: sum(r[k] for r in chosen) for k in ("parameters", "neurons", "multiply_adds")}
    return {"layers": rows, "totals": totals, "definition": NEURON_DEFINITION}


def receptive_fields(features: nn.Sequential) -> dict[str, dict]:
    """For each child of `features`, in order: the receptive field of one of its output values
    in input pixels (`size`), the distance in input pixels between neighbouring outputs
    (`jump`) and the input coordinate of output (0, 0)'s centre (`start`).

    The usual recurrence over convolutions and pools (kernel k, stride s, padding p):
    size += (k - 1) * jump, start += ((k - 1) / 2 - p) * jump, jump *= s. Batch norm and
    activations act on one value at a time and change none of them."""
    size, jump, start, out = 1, 1, 0.0, {}
    for name, layer in features.named_children():
        if isinstance(layer, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
            k, s, p = pair(layer.kernel_size)[0], pair(layer.stride)[0], pair(layer.padding)[0]
            d = pair(getattr(layer, "dilation", 1))[0]
            k = d * (k - 1) + 1
            size += (k - 1) * jump
            start += ((k - 1) / 2 - p) * jump
            jump *= s
        out[name] = {"size": size, "jump": jump, "start": start}
    return out


def field_window(field: dict, row: int, col: int) -> tuple[int, int]:
    """The input pixel (top, left) where the receptive field of output (row, col) starts, for a
    layer's `receptive_fields` entry; the field is field["size"] pixels square from there (it
    may reach past the image's edge, into the padding)."""
    half = (field["size"] - 1) / 2
    return round(field["start"] + row * field["jump"] - half), round(field["start"] + col * field["jump"] - half)


def crop(image: torch.Tensor, row: int, col: int, size: int) -> torch.Tensor:
    """The size x size window of image (H, W) whose top-left pixel is (row, col), outside = background."""
    pad = size
    padded = F.pad(image[None, None], (pad, pad, pad, pad), value=BACKGROUND)[0, 0]
    return padded[row + pad:row + pad + size, col + pad:col + pad + size]


def feature_stages(model: nn.Module, x: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """Run x (1, 1, 28, 28) through `model.features`, recording in forward order the output
    of every convolution and of every pooling + normalisation + activation stage after it."""
    stages, pending = [], []
    with torch.no_grad():
        for name, layer in model.features.named_children():
            x = layer(x)
            pending.append(name)
            if isinstance(layer, (nn.Conv2d, nn.ReLU)):
                stages.append((" + ".join(pending), x[0].cpu().numpy().copy()))
                pending = []
    return stages


def summary_line(model: nn.Module) -> str:
    """A network in one line, read off the module: its conv layers (output channels, kernel size;
    depthwise ones marked), its linear layers (output features) and its parameter count."""
    convs, fcs = [], []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            kind = "dw " if m.groups > 1 and m.groups == m.in_channels else ""
            convs.append(
                f"{kind}{m.out_channels}"
                + ("" if m.kernel_size == (3, 3) else f" ({m.kernel_size[0]}x{m.kernel_size[1]})")
            )
        elif isinstance(m, nn.ConvTranspose2d):
            convs.append(
                f"up {m.out_channels}"
                + ("" if m.kernel_size == (3, 3) else f" ({m.kernel_size[0]}x{m.kernel_size[1]})")
            )
        elif isinstance(m, nn.Linear):
            fcs.append(str(m.out_features))
    parts = ([f"conv {', '.join(convs)} (3x3 unless marked)"] if convs else []) + (
        [f"FC {', '.join(fcs)}"] if fcs else []
    )
    return "; ".join(parts) + f"; {sum(p.numel() for p in model.parameters()):,} parameters"
