"""Helpers the tests share: tiny synthetic Fashion-MNIST files in the real IDX format, and a
study that is interrupted after a given number of runs."""
import gzip
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: magic 0x0000 08 ndim, then big-endian sizes, then data."""
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable images: class c lights up horizontal band c (with noise), so training works."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 40, size=(n, 28, 28))
    for i, c in enumerate(labels):
        images[i, 2 + 2 * c: 4 + 2 * c, 4:24] = 220
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_dataset(folder: Path, n_train: int = 240, n_test: int = 100, gz: bool = True,
                  layout: str = "flat") -> Path:
    """Write the four files into `folder` (flat) or folder/FashionMNIST/raw (torchvision)."""
    target = folder if layout == "flat" else folder / "FashionMNIST" / "raw"
    target.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        images, labels = synthetic_split(n, seed)
        for name, array in zip(NAMES[split], (images, labels)):
            raw = idx_bytes(array)
            if gz:
                (target / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (target / name).write_bytes(raw)
    return folder


def interrupt_study(monkeypatch, name: str, after: int):
    """Make experiments.py's study `name` raise KeyboardInterrupt (Ctrl-C) when its run number
    `after + 1` starts; return the real study, to put back with monkeypatch.setitem."""
    import copy

    import experiments
    study, calls = experiments.STUDIES[name], []

    def run(config, ctx):
        calls.append(config["name"])
        if len(calls) > after:
            raise KeyboardInterrupt
        return study.run(config, ctx)

    interrupted = copy.copy(study)
    interrupted.run = run  # the instance's run stands in for the study's method
    monkeypatch.setitem(experiments.STUDIES, name, interrupted)
    return study
