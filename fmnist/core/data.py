"""Find, check and load Fashion-MNIST as whole in-memory tensors.

Where the data comes from (first match wins):
  1. an explicit directory (--data-dir, else $FASHION_MNIST_DIR): the only place looked at;
  2. data/ in the repository, beside the scripts;
  3. Debian's package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist);
  4. torchvision's download into data/.
Each place may hold the four Zalando files (.gz or not) directly or in torchvision's
FashionMNIST/raw/ layout. Every file is checked (IDX magic number, counts, sizes, labels).
"""
import contextlib
import gzip
import io
import os
from pathlib import Path

import numpy as np
import torch

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
ROOT = Path(__file__).resolve().parents[2]  # the repository: fmnist/core/ sits in it
LOCAL_DIR = ROOT / "data"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "FASHION_MNIST_DIR"
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049  # IDX: 0x0803 = ubyte 3-D, 0x0801 = ubyte 1-D
SIDE = 28
SPLIT_SEED = 0  # the train/validation split never changes with --seed

# The assignment's preprocessing: ToTensor + Normalize(0.5, 0.5), values in [-1, 1].
MEAN, STD = 0.5, 0.5

NO_DATA_HELP = (
    "no Fashion-MNIST data found, and torchvision could not download it. Provide it one of three ways: "
    "(1) install Debian's package: apt-get install dataset-fashion-mnist "
    f"(it fills {DEBIAN_DIR}); "
    f"(2) put the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
    f"t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in {LOCAL_DIR}, "
    f"or anywhere and pass --data-dir DIR (or set {ENV_VAR}=DIR); "
    f"(3) connect to the internet once so that torchvision can download them into {LOCAL_DIR}.")


class DataError(Exception):
    """The data is missing or damaged; the message says what to do."""


def _find_file(folder: Path, name: str) -> Path | None:
    for sub in (folder, folder / "FashionMNIST" / "raw"):
        for candidate in (sub / name, sub / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def _files_in(folder: Path) -> dict[str, Path | None]:
    return {name: _find_file(folder, name) for pair in FILES.values() for name in pair}


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataError(f"{path}: cannot be read ({err}); the file is damaged: replace it") from None


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file, checking its magic number and size. Returns uint8 (N,) or (N, 28, 28)."""
    raw = _read_bytes(path)
    ndim = 3 if magic == IMAGE_MAGIC else 1
    header = 4 * (1 + ndim)
    if len(raw) < header:
        raise DataError(f"{path}: only {len(raw)} bytes, too short for an IDX header; the file is damaged")
    dims = np.frombuffer(raw, dtype=">u4", count=1 + ndim).astype(np.int64)
    if dims[0] != magic:
        kind = "images" if magic == IMAGE_MAGIC else "labels"
        raise DataError(f"{path}: IDX magic number {int(dims[0])}, expected {magic} for {kind}; "
                        "this is not a Fashion-MNIST file of that kind")
    shape = tuple(int(d) for d in dims[1:])
    if ndim == 3 and shape[1:] != (SIDE, SIDE):
        raise DataError(f"{path}: images are {shape[1]}x{shape[2]}, expected {SIDE}x{SIDE}")
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes where the header promises {expected} "
                        f"({shape[0]} items); the file is truncated or damaged")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _load_split(files: dict[str, Path | None], split: str) -> tuple[torch.Tensor, torch.Tensor]:
    image_name, label_name = FILES[split]
    images = read_idx(files[image_name], IMAGE_MAGIC)
    labels = read_idx(files[label_name], LABEL_MAGIC)
    if len(images) != len(labels):
        raise DataError(f"{files[image_name]} holds {len(images)} images but "
                        f"{files[label_name]} holds {len(labels)} labels")
    if len(labels) and labels.max() > 9:
        raise DataError(f"{files[label_name]}: label {int(labels.max())} is outside 0-9")
    return torch.from_numpy(images.copy()).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def _download(folder: Path) -> None:
    """torchvision's own download; its progress and error chatter is kept off the screen."""
    from torchvision.datasets import FashionMNIST
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for train in (True, False):
            FashionMNIST(root=str(folder), train=train, download=True)


def locate(data_dir: str | os.PathLike | None = None, download: bool = True) -> dict[str, Path]:
    """Return the four files' paths, searching in the documented order."""
    explicit = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    if explicit is not None:
        source = "--data-dir" if data_dir is not None else ENV_VAR
        files = _files_in(Path(explicit))
        missing = [name for name, path in files.items() if path is None]
        if missing:
            raise DataError(f"{source}={explicit}: missing {', '.join(n + '(.gz)' for n in missing)}")
        return files
    for folder in (LOCAL_DIR, DEBIAN_DIR):
        files = _files_in(folder)
        if all(files.values()):
            return files
    if download:
        try:
            _download(LOCAL_DIR)
        except Exception:  # no network, a refused mirror, a bad checksum: all mean "not here"
            with contextlib.suppress(OSError):  # leave no empty folders behind
                os.removedirs(LOCAL_DIR / "FashionMNIST" / "raw")
        files = _files_in(LOCAL_DIR)
        if all(files.values()):
            return files
    raise DataError(NO_DATA_HELP)


def preprocess(images) -> torch.Tensor:
    """A grayscale PIL image (-> (1, H, W)) or a uint8 (N, 1, 28, 28) batch -> float32 in [-1, 1]:
    ToTensor then Normalize(0.5, 0.5), in the operations torchvision's v2 transforms use (x / 255
    as a multiply by 1/255, minus the mean, over the std), so every value is the same bit for
    bit (tests/test_data.py checks it against torchvision). Computed here because importing
    torchvision takes about 2 s a script (its models and ops come with it)."""
    if not isinstance(images, torch.Tensor):
        images = torch.from_numpy(np.array(images, dtype=np.uint8))[None]
    return images.to(torch.float32).mul_(1.0 / 255).sub_(MEAN).div_(STD)


# Fashion-MNIST's background is black: pixel 0, which preprocess makes -1. A shifted image is
# filled with it, so the uncovered border looks like the rest of the background; zero would be
# mid-grey, a bar that no training image has.
BACKGROUND = -1.0


def stratified(y: torch.Tensor, per_class: int, seed: int) -> torch.Tensor:
    """`per_class` random indices of each class (all of a class when it has fewer), sorted."""
    gen = torch.Generator().manual_seed(seed)
    picks = [idx[torch.randperm(len(idx), generator=gen)[:per_class]]
             for k in range(len(CLASSES)) if len(idx := (y == k).nonzero().flatten())]
    return torch.cat(picks).sort().values


def shift(x: torch.Tensor, right: int, down: int, fill: float = BACKGROUND) -> torch.Tensor:
    """Images (..., H, W) moved `right` and `down` pixels (negative: left, up), the uncovered
    border set to `fill`; what moves out of the frame is lost."""
    h, w = x.shape[-2:]
    padded = torch.nn.functional.pad(x, (max(right, 0), max(-right, 0), max(down, 0), max(-down, 0)), value=fill)
    top, left = max(-down, 0), max(-right, 0)
    return padded[..., top:top + h, left:left + w]


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Undo preprocess: values in [-1, 1] back to 0-255 pixels."""
    return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


def load_test(data_dir=None, download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Only the 10,000 test images and labels, preprocessed."""
    images, labels = _load_split(locate(data_dir, download), "test")
    return preprocess(images), labels


def load(data_dir=None, download: bool = True):
    """Return {"train": (x, y), "val": (x, y), "test": (x, y)} with x (N, 1, 28, 28) float32
    in [-1, 1] and y (N,) int64; 1/12 of the training set (5,000 of 60,000) is held out
    for validation with a fixed seed."""
    return from_files(locate(data_dir, download))


def from_files(files: dict) -> dict:
    """load's splits from the four files `locate` found ({name: path})."""
    train_u8, train_y = _load_split(files, "train")
    test_u8, test_y = _load_split(files, "test")
    order = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_val = len(train_y) // 12
    val_idx, train_idx = order[:n_val], order[n_val:]
    train_x = preprocess(train_u8)
    return {"train": (train_x[train_idx], train_y[train_idx]),
            "val": (train_x[val_idx], train_y[val_idx]),
            "test": (preprocess(test_u8), test_y),
            "files": {name: str(path) for name, path in files.items()}}
