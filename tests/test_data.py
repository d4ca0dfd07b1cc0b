"""The data finder and IDX reader: both layouts, and every kind of damaged file refused."""
import gzip

import numpy as np
import pytest
import torch

from fmnist.core import data
from helpers import NAMES, idx_bytes, write_dataset


@pytest.mark.parametrize("layout,gz", [("flat", True), ("flat", False), ("torchvision", False),
                                       ("torchvision", True)])
def test_finder_accepts_both_layouts(tmp_path, layout, gz):
    folder = write_dataset(tmp_path / "d", n_train=120, n_test=30, gz=gz, layout=layout)
    splits = data.load(folder, download=False)
    assert len(splits["train"][1]) + len(splits["val"][1]) == 120
    assert len(splits["val"][1]) == 120 // 12
    x, y = splits["test"]
    assert x.shape == (30, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert x.min() >= -1 and x.max() <= 1


def test_preprocessing_is_totensor_then_normalize(data_dir):
    raw = np.frombuffer(gzip.decompress((data_dir / (NAMES["test"][0] + ".gz")).read_bytes()),
                        dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    x, _ = data.load_test(data_dir, download=False)
    expected = (torch.from_numpy(raw.astype(np.float32)) / 255 - 0.5) / 0.5
    assert torch.allclose(x[:, 0], expected)


def test_preprocessing_equals_torchvisions_bit_for_bit():
    """The oracle: torchvision's v2 ToImage + ToDtype(scale) + Normalize, as the package used
    before, on a PIL image and a uint8 batch; the classic ToTensor (it divides by 255 where v2
    multiplies by 1/255) agrees to within a float32 rounding."""
    from PIL import Image
    from torchvision import transforms
    from torchvision.transforms import v2
    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 1, 28, 28), dtype=np.uint8)
    classic = transforms.Compose([transforms.ToTensor(), transforms.Normalize([0.5], [0.5])])
    image = Image.fromarray(pixels[0, 0], mode="L")
    v2_pipeline = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5], [0.5])])
    ours = lambda x: data.preprocess(x)  # noqa: E731
    theirs = lambda x: v2_pipeline(x).as_subclass(torch.Tensor)  # noqa: E731
    assert torch.equal(ours(image), theirs(image))
    assert torch.equal(ours(torch.from_numpy(pixels)), theirs(torch.from_numpy(pixels)))
    assert torch.allclose(ours(image), classic(image), rtol=0, atol=1e-6)


def test_split_is_fixed_and_disjoint(data_dir):
    a, b = data.load(data_dir, download=False), data.load(data_dir, download=False)
    assert torch.equal(a["val"][0], b["val"][0])
    train_rows = {row.numpy().tobytes() for row in a["train"][0]}
    assert not any(row.numpy().tobytes() in train_rows for row in a["val"][0])


def test_environment_variable_is_used(data_dir, monkeypatch):
    monkeypatch.setenv(data.ENV_VAR, str(data_dir))
    assert data.locate(download=False)["t10k-images-idx3-ubyte"].parent == data_dir


def test_explicit_dir_with_missing_files_names_them(tmp_path):
    folder = write_dataset(tmp_path / "d")
    (folder / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="missing train-labels-idx1-ubyte"):
        data.load(folder, download=False)


def test_no_data_anywhere_names_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv(data.ENV_VAR, raising=False)
    monkeypatch.setattr(data, "LOCAL_DIR", tmp_path / "nothing")
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "nothing-either")
    with pytest.raises(data.DataError) as err:
        data.locate(download=False)
    message = str(err.value)
    assert "apt-get install dataset-fashion-mnist" in message and "--data-dir" in message
    assert "internet" in message


def _damage(folder, name, raw: bytes):
    (folder / (name + ".gz")).write_bytes(gzip.compress(raw))


def test_truncated_file_is_refused(data_dir):
    path = data_dir / (NAMES["train"][0] + ".gz")
    raw = gzip.decompress(path.read_bytes())
    _damage(data_dir, NAMES["train"][0], raw[:-100])
    with pytest.raises(data.DataError, match="truncated"):
        data.load(data_dir, download=False)


def test_truncated_gzip_stream_is_refused(data_dir):
    path = data_dir / (NAMES["test"][0] + ".gz")
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(data.DataError, match="damaged"):
        data.load(data_dir, download=False)


def test_wrong_magic_number_is_refused(data_dir):
    labels = np.zeros(100, dtype=np.uint8)
    _damage(data_dir, NAMES["test"][0], idx_bytes(labels))  # a label file where images belong
    with pytest.raises(data.DataError, match="magic number 2049, expected 2051"):
        data.load(data_dir, download=False)


def test_count_mismatch_is_refused(data_dir):
    _damage(data_dir, NAMES["test"][1], idx_bytes(np.zeros(99, dtype=np.uint8)))
    with pytest.raises(data.DataError, match="100 images but .* 99 labels"):
        data.load(data_dir, download=False)


def test_label_out_of_range_is_refused(data_dir):
    _damage(data_dir, NAMES["test"][1], idx_bytes(np.full(100, 12, dtype=np.uint8)))
    with pytest.raises(data.DataError, match="label 12 is outside 0-9"):
        data.load(data_dir, download=False)
