"""Show what the trained CNN sees: first-layer kernels, their responses, the feature maps.

    python kernel_vis.py                         # test image #0, outputs/cnn.pth
    python kernel_vis.py --image shirt.png       # any PNG/JPEG, converted to 28x28 grayscale
    python kernel_vis.py --index 42 --channels 4

Writes cnn_kernels.png (Q5), cnn_kernel_responses.png (Q6), cnn_feature_maps.png (Q7),
cnn_last_kernels.png and sample_image.png to --out-dir, and rebuilds figures.pdf with
every figure of questions 1-7.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch import nn

import data
import plots
import report
import storage
from cnn import Conv_Net

HERE = Path(__file__).resolve().parent
SIDE = 28


def parse_args(argv=None) -> argparse.Namespace:
    p = storage.Parser(prog="kernel_vis.py", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", type=Path, default=HERE / "outputs" / "cnn.pth")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path, help="a PNG or JPEG to use as the sample image")
    source.add_argument("--index", type=int, default=0, help="a test image to use instead (default 0)")
    p.add_argument("--channels", type=int, default=1, help="channels shown per stage in the progression")
    p.add_argument("--out-dir", type=Path, default=HERE / "outputs")
    p.add_argument("--data-dir", type=Path, help="where the data is, for --index")
    args = p.parse_args(argv)
    if args.channels < 1:
        p.error(f"argument --channels: expects a whole number >= 1, got {args.channels}")
    if args.index < 0:
        p.error(f"argument --index: expects a whole number >= 0, got {args.index}")
    return args


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
        raise storage.UserError(f"no image at {path}") from None
    except (UnidentifiedImageError, OSError) as err:
        raise storage.UserError(f"{path} is not a readable PNG or JPEG image ({err})") from None
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
    note = f"{path.name} ({mode})" + ("".join(f"\n{n}" for n in notes))
    return data.preprocess(gray), note


def feature_stages(model: Conv_Net, x: torch.Tensor) -> list[tuple[str, np.ndarray]]:
    """Run x (1, 1, 28, 28) through `model.features`, recording in forward order the output
    of every convolution and of every pooling + normalisation + activation stage after it."""
    stages, pending = [], []
    with torch.no_grad():
        for name, layer in model.features.named_children():
            x = layer(x)
            pending.append(name)
            if isinstance(layer, (nn.Conv2d, nn.ReLU)):
                stages.append((" + ".join(pending), x[0].numpy().copy()))
                pending = []
    return stages


def kernel_pages(model: Conv_Net, image: torch.Tensor, note: str, channels: int) -> list[report.Page]:
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
    return [
        report.Page("cnn_kernels", "Q5", "first-layer kernels of the trained CNN",
                    plots.kernel_grid_figure(kernels, f"conv1: all {k} kernels ({kh}x{kw}), "
                                             "each scaled to [0, 1] on its own")),
        report.Page("cnn_kernel_responses", "Q6", "the sample image filtered by each first-layer kernel",
                    plots.responses_figure(shown, responses, f"conv1 responses: the sample image convolved with "
                                           f"each of the {k} kernels\n(stride {conv1.stride[0]}, padding "
                                           f"{conv1.padding[0]}, {'its bias' if conv1.bias is not None else 'no bias: batch norm follows'}), "
                                           "each scaled to [0, 1]", note)),
        report.Page("cnn_feature_maps", "Q7", "feature maps of the sample image through every layer",
                    plots.progression_figure(shown, feature_stages(model, image[None]), channels, note)),
        report.Page("cnn_last_kernels", "Extra", f"kernels of the last convolution layer ({last_name})",
                    plots.kernel_grid_figure(slices, f"{last_name}: the {len(slices)} kernels ({w.shape[1]} input "
                                             f"channels each); shown: each kernel's {kh}x{kw} slice for its "
                                             "strongest input channel, scaled to [0, 1]")),
    ]


def run(args) -> int:
    out_dir = storage.check_out_dir(args.out_dir)
    model = storage.load_weights(Conv_Net(), args.checkpoint, "CNN (Conv_Net)",
                                 "run python fashionmnist.py first, or pass --checkpoint")
    model.eval()
    if args.image is not None:
        image, note = load_image(args.image)
    else:
        x_test, y_test = data.load_test(args.data_dir)
        if args.index >= len(y_test):
            raise storage.UserError(f"--index {args.index} is out of range: the test set has {len(y_test)} images")
        image = x_test[args.index]
        note = f"test image #{args.index} ({data.CLASSES[int(y_test[args.index])]})"
    with torch.no_grad():
        probs = model(image[None]).softmax(1)[0]
    guess = int(probs.argmax())
    print(f"sample: {note.splitlines()[0]}; the CNN says {data.CLASSES[guess]} ({100 * probs[guess]:.0f}%)")
    pages = kernel_pages(model, image, note, args.channels)
    metrics = storage.read_json(out_dir / "metrics.json")
    with storage.staged(out_dir) as stage:
        Image.fromarray(data.to_uint8(image[0]).numpy(), mode="L").save(stage / "sample_image.png")
        for page in pages:
            page.fig.savefig(stage / f"{page.stem}.png", dpi=120)
        count = report.write_pdf(stage / "figures.pdf", metrics, report.training_pages(metrics) + pages,
                                 note=f"Questions 5-7 use this sample image: {note.splitlines()[0]}.")
    print(f"wrote sample_image.png, {', '.join(p.stem + '.png' for p in pages)} and "
          f"figures.pdf ({count} pages) to {out_dir}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (storage.UserError, data.DataError) as err:
        print(f"kernel_vis.py: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nkernel_vis.py: interrupted; nothing was changed in {args.out_dir}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
