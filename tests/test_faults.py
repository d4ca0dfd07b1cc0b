"""Faults: each ends with one clear message, a non-zero exit, no traceback, earlier results intact.

Signals and a checkpoint that would run code are tried on real processes; the other faults
call the scripts' main() in this process (the same code path from the same run_script, at a
fraction of the time of a fresh Python importing torch each time)."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import fashionmnist
import kernel_vis
from cnn import Conv_Net
from fmnist.core import storage
from helpers import NAMES, ROOT

PY = [sys.executable, "-u"]


def run_script(*args, timeout=120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FASHION_MNIST_DIR"}
    return subprocess.run(PY + [str(ROOT / args[0]), *map(str, args[1:])], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env)


def run_main(capsys, script: str, *args) -> subprocess.CompletedProcess:
    """script's main(args) in this process, as a CompletedProcess (exit code, stdout, stderr)."""
    module = {"fashionmnist.py": fashionmnist, "kernel_vis.py": kernel_vis}[script]
    capsys.readouterr()
    code = module.main([str(a) for a in args])
    captured = capsys.readouterr()
    return subprocess.CompletedProcess([script, *args], code, captured.out, captured.err)


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def assert_clean_failure(result, *phrases, code=1):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


def assert_untouched(out: Path, before: dict):
    assert snapshot(out) == before  # same files, same bytes, nothing partial or temporary left


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_training_keeps_earlier_results(data_dir, earlier_run, sig):
    out, before = earlier_run
    proc = subprocess.Popen(PY + [str(ROOT / "fashionmnist.py"), "--data-dir", str(data_dir), "--out-dir",
                                  str(out), "--epochs", "200", "--batch-size", "8"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    for line in proc.stdout:  # wait until training is under way
        if "epoch  1/200" in line:
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and str(out) in err and "Traceback" not in err
    assert_untouched(out, before)


def test_diverging_loss_stops_with_a_hint(data_dir, earlier_run, capsys):
    out, before = earlier_run
    result = run_main(capsys, "fashionmnist.py", "--data-dir", data_dir, "--out-dir", out, "--lr", "1e3",
                        "--epochs", "3", "--batch-size", "16")
    assert_clean_failure(result, "FFN", "epoch 1", "lower --lr")
    assert_untouched(out, before)


@pytest.mark.parametrize("damage,message", [
    ("truncate", "truncated"), ("magic", "magic number"), ("count", "labels"), ("label", "outside 0-9"),
    ("missing", "missing"),
])
def test_damaged_data_is_named(data_dir, earlier_run, damage, message, capsys):
    import gzip

    import numpy as np

    from helpers import idx_bytes
    out, before = earlier_run
    images, labels = (data_dir / (n + ".gz") for n in NAMES["train"])
    if damage == "truncate":
        images.write_bytes(gzip.compress(gzip.decompress(images.read_bytes())[:-784]))
    elif damage == "magic":
        images.write_bytes(gzip.compress(idx_bytes(np.zeros(240, dtype=np.uint8))))
    elif damage == "count":
        labels.write_bytes(gzip.compress(idx_bytes(np.zeros(17, dtype=np.uint8))))
    elif damage == "label":
        labels.write_bytes(gzip.compress(idx_bytes(np.full(240, 10, dtype=np.uint8))))
    else:
        labels.unlink()
    result = run_main(capsys, "fashionmnist.py", "--data-dir", data_dir, "--out-dir", out)
    assert_clean_failure(result, message, "train-")
    assert result.stderr.count("\n") == 1
    assert_untouched(out, before)


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.slow
def test_a_checkpoint_that_runs_code_is_refused_unrun(tmp_path):
    marker, evil = tmp_path / "it-ran", tmp_path / "cnn.pth"
    torch.save({"conv1.weight": RunsCode(marker)}, evil)
    result = run_script("kernel_vis.py", "--checkpoint", evil, "--out-dir", tmp_path / "o")
    assert_clean_failure(result, "refused")
    assert not marker.exists()


@pytest.mark.parametrize("kind,message", [
    ("truncated", "not a PyTorch checkpoint"), ("random", "not a PyTorch checkpoint"),
    ("other", "another network"), ("width", "different size"), ("absent", "run python fashionmnist.py first"),
])
def test_bad_checkpoints_say_which(earlier_run, tmp_path, kind, message, capsys):
    out, _ = earlier_run
    path = tmp_path / "cnn.pth"
    if kind == "truncated":
        path.write_bytes((out / "cnn.pth").read_bytes()[:5000])
    elif kind == "random":
        path.write_bytes(os.urandom(20000))
    elif kind == "other":
        path.write_bytes((out / "ffn.pth").read_bytes())
    elif kind == "width":
        torch.save(Conv_Net(widths=(8, 16, 32)).state_dict(), path)
    result = run_main(capsys, "kernel_vis.py", "--checkpoint", path, "--out-dir", tmp_path / "o")
    assert_clean_failure(result, message)
    assert result.stderr.count("\n") == 1


def test_skip_train_with_a_damaged_checkpoint_keeps_the_rest(data_dir, earlier_run, capsys):
    out, before = earlier_run
    (out / "cnn.pth").write_bytes(b"garbage")
    before["cnn.pth"] = b"garbage"
    result = run_main(capsys, "fashionmnist.py", "--data-dir", data_dir, "--out-dir", out, "--skip-train")
    assert_clean_failure(result, "not a PyTorch checkpoint")
    assert_untouched(out, before)


def test_out_dir_that_is_a_file_is_refused_before_training(data_dir, tmp_path, capsys):
    path = tmp_path / "taken"
    path.write_text("x")
    result = run_main(capsys, "fashionmnist.py", "--data-dir", data_dir, "--out-dir", path)
    assert_clean_failure(result, "is a file", str(path))
    assert "epoch" not in result.stdout


def test_out_dir_that_cannot_be_written_is_refused(data_dir, capsys):
    target = Path("/sys/fs/fashion-mnist-outputs")  # sysfs refuses new folders, even to root
    result = run_main(capsys, "fashionmnist.py", "--data-dir", data_dir, "--out-dir", target)
    assert_clean_failure(result, "cannot be written", str(target))


def test_out_dir_on_a_full_disk_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(storage.shutil, "disk_usage", lambda p: type("U", (), {"free": 1 << 20})())
    with pytest.raises(storage.UserError, match=f"{tmp_path}.*only 1 MiB free"):
        storage.check_out_dir(tmp_path)


@pytest.mark.slow
def test_same_seed_gives_identical_weights_and_metrics(data_dir, earlier_run, tmp_path):
    # the session's earlier run was made with these flags (conftest._pristine): run them again
    outs = [earlier_run[0], tmp_path / "again"]
    import json
    precision = json.loads((outs[0] / "metrics.json").read_text())["networks"]["cnn"]["config"]["precision"]
    assert fashionmnist.main(["--data-dir", str(data_dir), "--out-dir", str(outs[1]), "--epochs", "1",
                              "--precision", precision]) == 0  # what auto chose then, whatever a probe says now
    for name in ("ffn.pth", "cnn.pth"):
        a, b = (torch.load(o / name, weights_only=True) for o in outs)
        assert all(torch.equal(a[k], b[k]) for k in a), name
    ma, mb = (json.loads((o / "metrics.json").read_text())["networks"] for o in outs)
    for key in ("ffn", "cnn"):
        assert ma[key]["test"] == mb[key]["test"]
        assert ma[key]["history"]["iterations"] == mb[key]["history"]["iterations"]
