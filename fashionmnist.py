"""Train, evaluate and plot a feed-forward net and a CNN on Fashion-MNIST.

    python fashionmnist.py                 # both networks, default settings
    python fashionmnist.py --model cnn --epochs 5 --lr 0.05
    python fashionmnist.py --quick         # a smoke run on a small subset
    python fashionmnist.py --skip-train    # reload outputs/*.pth, redo evaluation and figures

Writes ffn.pth, cnn.pth, metrics.json, the figures of questions 1-4, 8 and 9 and figures.pdf
(not with --no-pdf, as make run has it) to --out-dir (default: outputs/ beside this file).
Run kernel_vis.py afterwards for 5-7.

Collaborators and generative-AI tools must be declared here, in a code comment, as the
assignment requires. Collaborators: (declare here). Generative AI: (declare here if used).
"""
from fmnist.core.python_version import require  # first, so an old Python gets one clear line

require("fashionmnist.py")

import argparse
import platform
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from fmnist.core import cli, data, files, provenance, storage
from fmnist.core.assignment import MODELS, QUICK_EPOCHS, RECIPES
from fmnist.core.device import BF16_MIN_SPEEDUP, auto_speedup, pick_device, pick_precision
from fmnist.core.metrics import count_parameters, evaluate, per_class_table
from fmnist.core.training import Diverged, TrainSettings, fit, init_weights
from fmnist.handin import document, evidence

HERE = Path(__file__).resolve().parent
QUICK = dict(train=4000, val=1000)  # --quick: images kept of each split, and QUICK_EPOCHS epochs
PRECISION = "auto"  # bf16 where native: 3 seeds each on an AVX-512 BF16 CPU found no accuracy difference (README)


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.Parser(prog="fashionmnist.py", doc=__doc__)
    p.add_argument("--model", choices=["ffn", "cnn", "both"], default="both", help="which network to train")
    p.add_argument("--epochs", type=cli.number(int, 1, "a whole number >= 1"),
                   help="the most epochs a network trains (default: its recipe's, FFN 12, CNN 11; --quick 2)")
    p.add_argument("--batch-size", "--batch_size", dest="batch_size",
                   type=cli.number(int, 2, "a whole number >= 2 (batch norm needs two images a batch)"),
                   help="images per training step (default: the recipe's, 256)")
    p.add_argument("--lr", type=cli.number(float, 1e-12, "a positive number"),
                   help="peak learning rate of the one-cycle schedule (default: the recipe's, FFN 0.1, CNN 0.2)")
    p.add_argument("--seed", type=cli.number(int, 0, "a whole number >= 0"), default=0,
                   help="seeds the initial weights, the batch order and the examples shown")
    p.add_argument("--patience", type=cli.number(int, 1, "a whole number >= 1"), default=5,
                   help="stop after this many epochs without a lower validation loss")
    p.add_argument("--init", choices=["default", "xavier", "he"], default="default",
                   help="weight initialisation: PyTorch's default, Xavier (Glorot) or He (Kaiming)")
    p.add_device()
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default=PRECISION,
                   help="training arithmetic: bf16 runs the forward pass and loss in bfloat16 (weights and "
                        "evaluation stay float32); auto picks bf16 where the device computes it natively and, on a "
                        "CPU, a timed CNN training step runs at least 1.2x as fast in it")
    p.add_argument("--out-dir", "--save-dir", "--save_dir", dest="out_dir", type=Path, default=HERE / "outputs",
                   help="where the weights, metrics.json and the figures go")
    p.add_argument("--data-dir", type=Path, help=cli.DATA_HELP)
    p.add_argument("--quick", action="store_true", help="small subset, 2 epochs: a smoke run")
    p.add_argument("--skip-train", action="store_true", help="load the saved weights, redo evaluation and figures")
    p.add_argument("--no-pdf", dest="pdf", action="store_false",
                   help="leave figures.pdf to kernel_vis.py, which rebuilds it with questions 5-7 (make run does "
                        "this: drawing the PDF here too took about 3.5 s); an earlier run's figures.pdf is removed")
    return p.parse_args(argv)


def settings_for(key: str, args) -> TrainSettings:
    """The network's recipe (assignment.RECIPES, QUICK_EPOCHS epochs with --quick) with the flags given."""
    recipe = RECIPES[key] if not args.quick else replace(RECIPES[key], epochs=QUICK_EPOCHS)
    return cli.settings(recipe, args)


def environment(device) -> dict:
    return {"versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "torchvision": provenance.version("torchvision"), "numpy": np.__version__},
            "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, {device}",
            "command": " ".join(sys.argv)}


def run_network(key: str, settings: TrainSettings, splits, device, stage: Path, previous: dict, *, seed: int,
                init: str, quick: bool, reuse_from: Path | None) -> tuple[dict, torch.nn.Module]:
    """Train one network with its resolved settings (or, with `reuse_from`, --skip-train's folder,
    reload its weights), evaluate it and save its weights into `stage`; its metrics.json record."""
    torch.manual_seed(seed)  # the initial weights and dropout masks
    model = MODELS[key]()
    if reuse_from is not None:
        if "history" not in previous:
            raise storage.UserError(f"--skip-train needs the {key.upper()} history in metrics.json "
                                    f"from an earlier run in {reuse_from}")
        storage.load_weights(model, reuse_from / f"{key}.pth", key.upper(),
                             "run python fashionmnist.py without --skip-train first")
        files.check_weights({"networks": {key: previous}}, reuse_from / "metrics.json", key, reuse_from / f"{key}.pth")
        model.to(device, memory_format=torch.channels_last)
        record = {k: previous[k] for k in ("history", "train_seconds", "seed", "config", "finished")}
    else:
        init_weights(model, init)
        start = time.perf_counter()
        history = fit(model, splits["train"], splits["val"], settings, device, seed, name=key.upper())
        record = {"history": history, "train_seconds": time.perf_counter() - start, "seed": seed,
                  "config": {**settings.__dict__, "init": init, "quick": quick},
                  "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}
    # whether evaluation averages each image's logits with its mirror's (Conv_Net does), as scored now
    record["config"] = {**record["config"], "test_time_flip": bool(getattr(model, "flip_tta", False))}
    record["test"], record["examples"] = evaluate(model, splits, device, seed)
    record["parameters"] = count_parameters(model)
    record["device"] = str(device)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, stage / f"{key}.pth")
    record["weights_sha256"] = provenance.sha256(stage / f"{key}.pth")  # ties these numbers to these weights
    t = record["test"]
    print(f"{key.upper()}: test accuracy {100 * t['accuracy']:.2f}%  test loss {t['loss']:.4f}  "
          f"leaderboard {100 * t['leaderboard']:.2f}%  parameters {record['parameters']['total']:,}  "
          f"training {record['train_seconds']:.0f}s", flush=True)
    return record, model


def question_evidence(models: dict, metrics: dict, splits, device, out_dir: Path) -> dict | None:
    """Questions 8 and 9, measured on both networks: those trained now and, for one not
    retrained (--model), its weights from the earlier run; {"skipped": why} if one is missing."""
    models = dict(models)
    for key in set(MODELS) - set(models):
        if key not in metrics["networks"]:
            return {"skipped": f"the {key.upper()} has not been trained: run python fashionmnist.py --model {key}"}
        try:
            models[key] = storage.load_weights(MODELS[key](), out_dir / f"{key}.pth", key.upper(), "")
            files.check_weights(metrics, out_dir / "metrics.json", key, out_dir / f"{key}.pth")
        except storage.UserError as err:
            print(f"questions 8-9 skipped: {err}", flush=True)
            return {"skipped": str(err)}
        models[key].to(device, memory_format=torch.channels_last)
    found = evidence.gather(models, metrics["networks"], splits, device)
    print(f"questions 8-9 evidence: {sum(found['seconds'].values()):.1f}s (Q8 {found['seconds']['q8']:.1f}s, "
          f"Q9 {found['seconds']['q9']:.1f}s)", flush=True)
    return found


def run(args) -> int:
    started = provenance.now()
    out_dir = storage.check_out_dir(args.out_dir)
    keys = ["ffn", "cnn"] if args.model == "both" else [args.model]
    # Training both networks replaces every result, so the earlier metrics.json is not read;
    # --model and --skip-train build on it, so it is checked before any work.
    metrics = {} if keys == list(MODELS) and not args.skip_train else files.load_metrics(out_dir)
    locality = document.read_locality(out_dir)
    device = pick_device(args.device)
    measured = auto_speedup(device, MODELS["cnn"]) if args.precision == "auto" else None  # the longer training
    precision = pick_precision(args.precision, device, probe=MODELS["cnn"])
    # every network's settings, resolved once: its recipe, the flags given, the precision chosen
    settings = {key: replace(settings_for(key, args), precision=precision) for key in keys}
    why = "" if measured is None else (f" (auto: a CNN training step ran {measured:.2f}x as fast in bfloat16; "
                                       f"bf16 from {BF16_MIN_SPEEDUP}x)")
    splits = data.load(args.data_dir)
    if args.quick:
        splits["train"] = tuple(t[:QUICK["train"]] for t in splits["train"])
        splits["val"] = tuple(t[:QUICK["val"]] for t in splits["val"])
    print(f"data: {len(splits['train'][1]):,} training, {len(splits['val'][1]):,} validation, "
          f"{len(splits['test'][1]):,} test images from {Path(splits['files']['t10k-images-idx3-ubyte']).parent}; "
          f"device {device}, training precision {precision}{why}", flush=True)
    metrics.setdefault("networks", {})
    with storage.staged(out_dir) as stage:
        models = {}
        for key in keys:
            metrics["networks"][key], models[key] = run_network(
                key, settings[key], splits, device, stage, metrics["networks"].get(key, {}), seed=args.seed,
                init=args.init, quick=args.quick, reuse_from=out_dir if args.skip_train else None)
        metrics["questions"] = question_evidence(models, metrics, splits, device, out_dir)
        metrics["environment"] = environment(device)
        metrics["data_files"] = splits["files"]
        metrics["sizes"] = {split: len(splits[split][1]) for split in ("train", "val", "test")}
        metrics["provenance"] = provenance.record(device, args.seed, splits["files"], started, precision)
        storage.write_json(metrics, stage / "metrics.json")
        pages = document.training_pages(metrics) + document.question_pages(metrics, locality)
        for page in pages:
            page.save_png(stage / f"{page.stem}.png", 120)
        if args.pdf:
            count = document.write_pdf(stage / "figures.pdf", metrics, pages,
                                     note="Questions 5-7: run python kernel_vis.py to add them.")
    if not args.pdf:  # an earlier run's PDF would show other numbers than these
        (out_dir / "figures.pdf").unlink(missing_ok=True)
    print(per_class_table({k: metrics["networks"][k] for k in keys}))
    pdf = f"figures.pdf ({count} pages)" if args.pdf else "no figures.pdf (--no-pdf)"
    print(f"wrote {', '.join(f'{k}.pth' for k in keys)}, metrics.json, the question 1-4, 8 and 9 figures and "
          f"{pdf} to {out_dir}")
    print(f"look at {out_dir / 'figures.pdf' if args.pdf else f'the PNGs in {out_dir}'}; next: python kernel_vis.py "
          "(questions "
          "5-7, and the PDF of questions 1-9), then python analyze.py (what the networks learned)")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    return cli.run_script(
        "fashionmnist.py",
        run,
        args,
        (data.DataError, Diverged),
        f"nothing from this run was kept, and the last complete results are unchanged in {args.out_dir}",
    )


if __name__ == "__main__":
    sys.exit(main())
