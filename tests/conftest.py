"""Shared fixtures: tiny synthetic Fashion-MNIST files in the real IDX format."""
import gzip
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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


@pytest.fixture(scope="session")
def _pristine(tmp_path_factory) -> tuple[Path, Path]:
    """Written once a session: a synthetic dataset and a complete one-epoch run on it."""
    import fashionmnist
    root = tmp_path_factory.mktemp("pristine")
    data = write_dataset(root / "fmnist")
    out = root / "out"
    assert fashionmnist.main(["--data-dir", str(data), "--out-dir", str(out), "--epochs", "1"]) == 0
    return data, out


@pytest.fixture
def data_dir(_pristine, tmp_path) -> Path:
    """A private copy of the synthetic dataset, free to damage."""
    return Path(shutil.copytree(_pristine[0], tmp_path / "fmnist"))


@pytest.fixture
def earlier_run(_pristine, tmp_path) -> tuple[Path, dict]:
    """A private copy of a complete earlier run's output directory, and its bytes."""
    out = Path(shutil.copytree(_pristine[1], tmp_path / "out"))
    return out, {p.name: p.read_bytes() for p in sorted(out.iterdir())}


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
