"""What made a result: one record written into every JSON file the package writes, and the
fingerprints that tie weights to their numbers and study runs to the code that computed them.

The record: the package's git commit and whether the tree had uncommitted changes, the
Python, torch, torchvision and numpy versions, device and precision, CPU model and thread
count, the seed, the data files' SHA-256, the command line, start and end times.
"""
import functools
import hashlib
import importlib.metadata
import inspect
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]  # the repository
NOT_GIT = "not a git checkout"


def version(package: str) -> str:
    """An installed package's version, read from its metadata: without importing it (torchvision's
    import alone takes about 2 s)."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@functools.cache
def git_state(root: Path = ROOT) -> dict:
    """{"commit": HEAD's hash, "dirty": whether tracked files outside outputs/ differ from it}; the commit
    says "not a git checkout" (dirty None) where there is no git or no repository."""
    try:
        run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=10, cwd=root)
        head = run(["git", "rev-parse", "HEAD"])
        if head.returncode != 0:
            return {"commit": NOT_GIT, "dirty": None}
        # the code, not the results: outputs/ is tracked too, and every run rewrites it
        status = run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)outputs"])
        return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": NOT_GIT, "dirty": None}


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _cached_sha256(path: str, size: int, mtime: int) -> str:
    return sha256(Path(path))


def data_hashes(files: dict) -> dict:
    """SHA-256 of each data file (name -> path), hashed once per process."""
    out = {}
    for name, path in files.items():
        st = os.stat(path)
        out[name] = _cached_sha256(str(path), st.st_size, st.st_mtime_ns)
    return out


def record(device, seed, data_files: dict | None, started: str, precision: str = "fp32") -> dict:
    """The provenance of a result finished now."""
    return {**git_state(), "python": platform.python_version(), "torch": torch.__version__,
            "torchvision": version("torchvision"), "numpy": np.__version__, "device": str(device),
            "precision": precision, "cpu": cpu_model(), "threads": torch.get_num_threads(), "seed": seed,
            "data_sha256": data_hashes(data_files) if data_files else {}, "command": " ".join(sys.argv),
            "started": started, "ended": now()}


def line(p: dict) -> str:
    """One line for a PDF's summary page."""
    commit = (
        p["commit"] if p["commit"] == NOT_GIT else p["commit"][:10] + (" + uncommitted changes" if p["dirty"] else "")
    )
    data = next(iter(p["data_sha256"].values()), "")[:10]
    return (f"made by: commit {commit}; python {p['python']}, torch {p['torch']}, torchvision {p['torchvision']}, "
            f"numpy {p['numpy']}; {p['device']} {p['precision']}, {p['cpu']}, {p['threads']} threads; seed "
            f"{p['seed']}; data sha256 {data}...; {p['started']} to {p['ended']}; command: {p['command']}")


def _ours(source_file: str) -> bool:
    """A file of this repository (not of a library installed in a virtual environment inside it)."""
    path = Path(source_file).resolve()
    if not path.is_relative_to(ROOT):
        return False
    rel = path.relative_to(ROOT).parts
    return not rel[0].startswith(".") and "site-packages" not in rel


def network_fingerprint(model: nn.Module, objective=None) -> str:
    """A hash of what computes a network's results: its module structure (repr: every layer
    with its kernel sizes, strides, widths and flags), every parameter's name and shape, the
    source of each of its classes defined in this repository (so an edit to a forward pass or
    a constructor's defaults counts), and the source of its objective function. An edit that
    changes none of these (a comment, a figure, another network) leaves it as it was."""
    parts = [repr(model)] + [f"{name} {tuple(p.shape)}" for name, p in model.named_parameters()]
    seen = set()
    for module in model.modules():
        cls = type(module)
        if cls in seen:
            continue
        seen.add(cls)
        if _ours(inspect.getsourcefile(cls) or ""):
            parts.append(inspect.getsource(cls))
    if objective is not None:
        parts.append(inspect.getsource(objective))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
