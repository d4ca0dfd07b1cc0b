"""Show what the trained CNN sees: first-layer kernels, their responses, the feature maps.

    python kernel_vis.py                         # test image #0, outputs/cnn.pth
    python kernel_vis.py --image shirt.png       # any PNG/JPEG, converted to 28x28 grayscale
    python kernel_vis.py --index 42 --channels 4
    python kernel_vis.py --out-dir DIR           # the CNN in DIR/cnn.pth; figures to DIR

Writes cnn_kernels.png (Q5), cnn_kernel_responses.png (Q6), cnn_feature_maps.png (Q7),
cnn_last_kernels.png and sample_image.png to --out-dir, and rebuilds figures.pdf with
every figure of questions 1-9 (8 and 9 from metrics.json and, when it has run, the locality
study).
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("kernel_vis.py")

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image

from cnn import Conv_Net
from fmnist.core import cli, data, files, storage
from fmnist.handin import document
from fmnist.handin.kernels import CHANNELS, kernel_pages, load_image

HERE = Path(__file__).resolve().parent


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.Parser(prog="kernel_vis.py", doc=__doc__)
    p.add_argument("--checkpoint", type=Path,
                   help="the trained CNN's weights (default: cnn.pth in --out-dir)")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path, help="a PNG or JPEG to use as the sample image")
    source.add_argument("--index", type=cli.number(int, 0, "a whole number >= 0"), default=0,
                        help="the test image to use instead (default 0)")
    p.add_argument("--channels", type=cli.number(int, 1, "a whole number >= 1"), default=CHANNELS,
                   help=f"channels shown per stage in the feature-map progression (default {CHANNELS})")
    p.add_argument("--out-dir", type=Path, default=HERE / "outputs",
                   help="where fashionmnist.py wrote (metrics.json) and the figures go (default outputs/)")
    p.add_argument("--data-dir", type=Path, help="for --index: " + cli.DATA_HELP)
    args = p.parse_args(argv)
    if args.checkpoint is None:
        args.checkpoint = args.out_dir / "cnn.pth"
    return args


def run(args) -> int:
    out_dir = storage.check_out_dir(args.out_dir)
    metrics = files.load_metrics(out_dir)  # checked first: a damaged file stops the run before any work
    locality = document.read_locality(out_dir)
    model = storage.load_weights(Conv_Net(), args.checkpoint, "CNN (Conv_Net)",
                                 "run python fashionmnist.py first, or pass --checkpoint")
    # The weights must be the CNN that the metrics.json beside them and the one whose pages
    # this PDF shows describe; a checkpoint with no metrics.json beside it is shown as itself.
    sha = files.check_weights(metrics, out_dir / "metrics.json", "cnn", args.checkpoint)
    beside = args.checkpoint.parent / "metrics.json"
    if beside.resolve() != (out_dir / "metrics.json").resolve():
        files.check_weights(files.load_metrics(args.checkpoint.parent), beside, "cnn", args.checkpoint)
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
    with storage.staged(out_dir) as stage:
        Image.fromarray(data.to_uint8(image[0]).numpy(), mode="L").save(stage / "sample_image.png")
        for page in pages:
            page.save_png(stage / f"{page.stem}.png", 120)
        questions = document.question_pages(metrics, locality)
        for page in questions[:2]:  # question 8 quotes the locality study, which may have run since
            page.save_png(stage / f"{page.stem}.png", 120)
        count = document.write_pdf(stage / "figures.pdf", metrics, document.training_pages(metrics) + pages + questions,
                                 note=f"Questions 5-7 use this sample image: {note.splitlines()[0]}, and the "
                                      f"weights {args.checkpoint.name} (sha256 {sha[:16]}...).")
    print(f"wrote sample_image.png, {', '.join(p.stem + '.png' for p in pages)} and "
          f"figures.pdf ({count} pages) to {out_dir}")
    print(f"look at {out_dir / 'figures.pdf'} (questions 1-9); next: python analyze.py (what the networks learned)")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return cli.run_script("kernel_vis.py", run, args, (data.DataError,),
                              f"nothing was changed in {args.out_dir}")


if __name__ == "__main__":
    sys.exit(main())
