"""Shared fixtures: a synthetic dataset and one complete run on it (helpers.py writes the files)."""
import shutil
from pathlib import Path

import pytest

from helpers import write_dataset


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
