"""Shared fixtures: a synthetic dataset and one complete run on it (helpers.py writes the files)."""
import os
import shutil
from pathlib import Path

import pytest

from helpers import write_dataset


def _share_the_cores() -> None:
    """Under pytest-xdist (make test runs `-n auto`), each worker takes its own share of the cores,
    and so do the processes its tests start: two workers each running torch on every core would
    spend the time contending for them."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if not worker:
        return
    if hasattr(os, "sched_setaffinity"):  # Linux: the worker and what it starts run on its own cores
        cores = sorted(os.sched_getaffinity(0))
        share = cores[int(worker.removeprefix("gw")) % len(cores)::max(count, 1)]
        os.sched_setaffinity(0, share)
        mine = len(share)
    else:  # macOS, Windows: no pinning, but no more threads than its share
        mine = max(1, (os.cpu_count() or 1) // max(count, 1))
    os.environ["OMP_NUM_THREADS"] = str(mine)
    import torch
    torch.set_num_threads(mine)


_share_the_cores()


@pytest.fixture(scope="session")
def _pristine(tmp_path_factory) -> tuple[Path, Path]:
    """Written once a session: a synthetic dataset and a complete one-epoch run on it."""
    import fashionmnist
    root = tmp_path_factory.mktemp("pristine")
    data = write_dataset(root / "fmnist")
    out = root / "out"
    assert fashionmnist.main(["--data-dir", str(data), "--out-dir", str(out), "--epochs", "1"]) == 0
    return data, out


@pytest.fixture(scope="session")
def quick_locality(_pristine, tmp_path_factory) -> Path:
    """The quick locality study (experiments.py), finished on the synthetic dataset at one job of
    one thread: an output directory to copy, not to change."""
    import experiments
    out = tmp_path_factory.mktemp("locality")
    assert experiments.main(["locality", "--quick", "--jobs", "1", "--threads", "1", "--data-dir", str(_pristine[0]),
                             "--out-dir", str(out)]) == 0
    return out


@pytest.fixture
def data_dir(_pristine, tmp_path) -> Path:
    """A private copy of the synthetic dataset, free to damage."""
    return Path(shutil.copytree(_pristine[0], tmp_path / "fmnist"))


@pytest.fixture
def earlier_run(_pristine, tmp_path) -> tuple[Path, dict]:
    """A private copy of a complete earlier run's output directory, and its bytes."""
    out = Path(shutil.copytree(_pristine[1], tmp_path / "out"))
    return out, {p.name: p.read_bytes() for p in sorted(out.iterdir())}
