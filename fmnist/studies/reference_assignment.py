"""Spec 000's code as its text names it: `train.py` with the spec's flags, training the spec's
reference network with early stopping (patience 5) and writing what its submission needs: the
weights under --save_dir, the test predictions as test_submission.csv (id,label), and a copy of
every submission in Kaggle_subs/; and `run_sh`, the best setting of the reference study as a
runnable run.sh.

    python train.py --lr 0.01 --batch_size 20 --init 1 --save_dir outputs/spec000/model
"""
import argparse
import shutil
import time
from pathlib import Path

import torch

from fmnist.core import cli, data, storage
from fmnist.core.data import stratified
from fmnist.core.device import pick_device
from fmnist.core.metrics import scores
from fmnist.core.training import TrainSettings, fit, init_weights, predict
from fmnist.studies.measure import CEILING, PATIENCE
from fmnist.studies.networks import ReferenceNet

INITS = {1: "xavier", 2: "he"}  # the spec's --init codes
VALID_BATCH = "1 or a multiple of 5"


def batch_size(text: str) -> int:
    """The spec's rule for --batch_size: 1 or a multiple of 5."""
    n = int(text)
    if n != 1 and (n < 5 or n % 5):
        raise argparse.ArgumentTypeError(f"{n}: spec 000 allows {VALID_BATCH}")
    return n


def parse_args(argv=None):
    p = cli.Parser(prog="train.py", doc=__doc__,
                   description="Spec 000's reference network, trained with the flags the spec names, spelt as it "
                               "spells them: --batch_size and --init 1|2 here, where the other scripts take "
                               "--batch-size and --init xavier|he; --epochs here is a ceiling that early stopping "
                               "usually ends first.")
    p.add_argument(
        "--lr", type=cli.number(float, 1e-12, "a learning rate above 0"), required=True,
        help="the learning rate reached after a one-epoch warm-up, divided by 10 after every 2 epochs without a "
             "lower validation loss"
    )
    p.add_argument("--batch_size", type=batch_size, required=True, help=f"batch size: {VALID_BATCH}")
    p.add_argument("--init", type=int, choices=sorted(INITS), required=True,
                   help="1 for Xavier, 2 for He (spec 000's codes; fashionmnist.py's --init takes xavier or he)")
    p.add_argument("--save_dir", type=Path, required=True, help="where the model (all weights and biases) is saved")
    p.add_argument("--subs_dir", type=Path, default=None,
                   help="the Kaggle_subs folder every submission is copied to (default: beside --save_dir)")
    p.add_argument("--epochs", type=int, default=CEILING, help=f"the epoch ceiling (default {CEILING}); early "
                   f"stopping on the validation loss with patience {PATIENCE} ends a run first")
    p.add_argument("--train_per_class", type=int, default=None,
                   help="train on a stratified subset of this many images per class (default: every image)")
    p.add_argument("--seed", type=cli.number(int, 0, "a whole number >= 0"), default=0,
                   help="seeds the initial weights, the subset and the batch order")
    p.add_argument("--data-dir", default=None, help=cli.DATA_HELP)
    p.add_device()
    return p.parse_args(argv)


def submission(predictions: torch.Tensor, path: Path) -> Path:
    """The Kaggle file: a header, then one row per test image, id from 0, predicted class."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return storage.write_predictions(predictions, path)


def keep_submission(path: Path, subs_dir: Path) -> Path:
    """A copy of `path` in `subs_dir` under the next free number: no submission is overwritten."""
    subs_dir.mkdir(parents=True, exist_ok=True)
    n = 1 + max((int(p.stem.rsplit("_", 1)[1]) for p in subs_dir.glob("submission_*.csv")
                 if p.stem.rsplit("_", 1)[1].isdigit()), default=0)
    target = subs_dir / f"submission_{n:03d}.csv"
    shutil.copyfile(path, target)
    return target


def spec_batch(batch: int) -> int:
    """The batch size nearest `batch` that spec 000's rule allows (1 or a multiple of 5)."""
    return 1 if batch == 1 else max(5, 5 * round(batch / 5))


def run_sh(config: dict, why: str) -> str:
    """The best setting (a reference-study run's configuration) as the spec's run.sh. The batch is
    the nearest the spec allows to the study's (its rule: 1 or a multiple of 5)."""
    batch = spec_batch(config["batch_size"])
    code = next(k for k, v in INITS.items() if v == config["init"])
    note = (
        ""
        if batch == config["batch_size"]
        else f" (the study's batch {config['batch_size']} rounded to the spec's rule)"
    )
    return (
        f"#!/usr/bin/env bash\n# Spec 000's best setting: {why}.\n# --batch_size {batch}{note}; "
        "early stopping on the validation loss, patience 5.\n# Every training image: hours on 2 cores, minutes on a "
        'GPU; add --train_per_class N for a stratified subset.\nset -euo pipefail\ncd "$(dirname "$0")/../.."\n'
        "PY=python; [ -x .venv/bin/python ] && PY=.venv/bin/python  # make's virtual environment, where there is one\n"
        f'"$PY" train.py --lr {config["lr"]:g} --batch_size {batch} --init {code} --save_dir outputs/spec000/model '
        '"$@"\n'
    )


def run(args) -> int:
    start = time.perf_counter()
    device = pick_device(args.device)
    splits = data.load(args.data_dir)
    x, y = splits["train"]
    if args.train_per_class:
        chosen = stratified(y, args.train_per_class, args.seed)
        x, y = x[chosen], y[chosen]
    model = ReferenceNet()
    torch.manual_seed(args.seed)
    init_weights(model, INITS[args.init])
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, label_smoothing=0.0,
                             patience=PATIENCE, schedule="plateau", flip=True)
    print(f"train.py: the reference network, {INITS[args.init]} initialisation, lr {args.lr:g}, batch "
          f"{args.batch_size}, "
          f"{len(y):,} training and {len(splits['val'][1]):,} validation images, at most {args.epochs} epochs")
    history = fit(model, (x, y), splits["val"], settings, device, args.seed, name="reference")
    args.save_dir.mkdir(parents=True, exist_ok=True)
    storage.save_weights(model, args.save_dir / "model.pth")
    x_test, y_test = splits["test"]
    logits = predict(model, x_test, device).float().cpu()
    measured = {"val": scores(predict(model, splits["val"][0], device).float().cpu(), splits["val"][1]),
                "test": scores(logits, y_test)}
    csv = submission(logits.argmax(1), args.save_dir / "test_submission.csv")
    kept = keep_submission(csv, args.subs_dir or args.save_dir.parent / "Kaggle_subs")
    storage.save_json({"flags": {k: str(v) for k, v in vars(args).items()}, "best_epoch": history["best_epoch"],
                        "epochs": len(history["epochs"]), **measured}, args.save_dir / "run.json")
    print(f"validation accuracy {100 * measured['val']['accuracy']:.2f}%, test accuracy "
          f"{100 * measured['test']['accuracy']:.2f}% (best epoch {history['best_epoch']} of {len(history['epochs'])})")
    print(f"saved {args.save_dir / 'model.pth'} and {csv}; kept as {kept}; {time.perf_counter() - start:.0f} s")
    return 0


def main(argv=None) -> int:
    return cli.run_script("train.py", run, parse_args(argv), (data.DataError,), "the saved model and submissions are "
                                                                                "kept")
