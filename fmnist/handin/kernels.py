"""What the trained CNN sees: its kernels, their responses to an image, the feature maps
layer by layer (questions 5-7), and reading a user's own image the way training reads one."""
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import nn

from fmnist.core import data, plotting
from fmnist.core.activations import response_shares
from fmnist.core.layers import feature_stages
from fmnist.core.pages import Page
from fmnist.core.storage import UserError
from fmnist.handin import figures
from fmnist.handin.readings import q7_reading

SIDE = 28


CHANNELS = 4  # channels a stage in question 7's progression, by default


def load_image(path: Path) -> tuple[torch.Tensor, str]:
    """Any PNG/JPEG -> (1, 28, 28) in [-1, 1] through the training preprocessing, and a note
    saying what was done to it (resized, inverted to light-on-dark)."""
    try:
        with Image.open(path) as img:
            img.load()
            mode, size = img.mode, img.size
            if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (0, 0, 0, 255))  # transparent = dark background
                gray = Image.alpha_composite(background, rgba).convert("L")
            else:
                gray = img.convert("L")
    except FileNotFoundError:
        raise UserError(f"no image at {path}") from None
    except (UnidentifiedImageError, OSError) as err:
        raise UserError(f"{path} is not a readable PNG or JPEG image ({err})") from None
    notes = []
    pixels = np.asarray(gray)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.mean() > 127:  # dark garment on a light background: Fashion-MNIST is the reverse
        gray = Image.fromarray(255 - pixels)
        notes.append("inverted to light-on-dark")
    if size != (SIDE, SIDE):
        side = max(size)
        square = Image.new("L", (side, side), int(np.asarray(gray)[0, 0]))
        square.paste(gray, ((side - size[0]) // 2, (side - size[1]) // 2))
        gray = square.resize((SIDE, SIDE), Image.Resampling.LANCZOS)
        notes.append(f"resized from {size[0]}x{size[1]}")
    kind = {"L": "greyscale", "RGB": "colour", "RGBA": "colour with transparency", "P": "palette"}.get(mode, mode)
    note = f"{path.name} ({kind})" + ("".join(f"\n{n}" for n in notes))
    return data.preprocess(gray), note


def reading(stages: list, image: torch.Tensor, channels: int) -> list:
    """For each activated stage of question 7 (its label ends in a ReLU): the share of its values
    that are 0, and where on the image each channel shown responds."""
    out = []
    for label, maps in stages:
        if label.split(" + ")[-1].startswith("relu"):
            maps = torch.as_tensor(maps)
            out.append((label.split(" + ")[-1], float((maps == 0).float().mean()),
                        [(c, response_shares(maps[c][None], image)) for c in range(min(channels, len(maps)))]))
    return out


def q7_stages(model: nn.Module, image: torch.Tensor, channels: int) -> list:
    """Question 7's activated maps of the sample image, as readings.q7_reading, q7_table and
    q7_summary read them (`reading`)."""
    return reading(feature_stages(model, image[None]), image, channels)


def kernel_pages(model: nn.Module, image: torch.Tensor, note: str, channels: int,
                 read_in_figure: bool = True) -> list[Page]:
    """Questions 5-7 and the last conv layer's kernels; question 7's reading drawn under its maps
    (`read_in_figure`; a report sets it as a table and words instead, q7_stages)."""
    conv1 = model.conv1
    k = conv1.weight.shape[0]
    kh, kw = conv1.kernel_size
    kernels = conv1.weight.detach()[:, 0].numpy()
    with torch.no_grad():
        responses = F.conv2d(image[None], conv1.weight, conv1.bias, stride=conv1.stride,
                             padding=conv1.padding)[0].numpy()
    convs = [(n, m) for n, m in model.features.named_children() if isinstance(m, nn.Conv2d)]
    last_name, last = convs[-1]
    w = last.weight.detach()                                  # (out, in, kh, kw)
    strongest = w.flatten(2).norm(dim=2).argmax(dim=1)        # (out,) input channel per kernel
    slices = w[torch.arange(w.shape[0]), strongest].numpy()   # (out, kh, kw)
    shown = image[0].numpy()
    stages = feature_stages(model, image[None])
    return [
        Page(
            "cnn_kernels",
            "Q5",
            "first-layer kernels of the trained CNN",
            plotting.kernel_grid_figure(
                kernels, f"conv1: all {k} kernels ({kh}x{kw}), each scaled to [0, 1] on its own"
            ),
        ),
        Page(
            "cnn_kernel_responses",
            "Q6",
            "the sample image filtered by each first-layer kernel",
            figures.responses_figure(
                shown,
                responses,
                f"conv1 responses: the sample image convolved with "
                f"each of the {k} kernels\n(stride {conv1.stride[0]}, padding "
                f"{conv1.padding[0]}, {'its bias' if conv1.bias is not None else 'no bias: batch norm follows'}), "
                "each scaled to [0, 1]",
                note,
            ),
        ),
        Page(
            "cnn_feature_maps",
            "Q7",
            "feature maps of the sample image through every layer",
            figures.progression_figure(shown, stages, channels, note,
                                       q7_reading(reading(stages, image, channels)) if read_in_figure else ""),
        ),
        Page(
            "cnn_last_kernels",
            "Extra",
            f"kernels of the last convolution layer ({last_name})",
            plotting.kernel_grid_figure(
                slices,
                f"{last_name}: the {len(slices)} kernels ({w.shape[1]} input "
                f"channels each); shown: each kernel's {kh}x{kw} slice for its "
                "strongest input channel, scaled to [0, 1]",
            ),
        ),
    ]
