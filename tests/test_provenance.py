"""Every result knows what made it: the provenance record in each JSON the scripts write,
weights tied to their numbers, and study runs redone when their network's code changes."""
import hashlib
import json
import shutil
import subprocess

import pytest
import torch
from torch import nn

import analyze
import experiments
import kernel_vis
from cnn import Conv_Net
from ffn import FF_Net
from fmnist.core import provenance
from fmnist.studies import locality
from helpers import ROOT

FIELDS = {"commit", "dirty", "python", "torch", "torchvision", "numpy", "device", "precision", "cpu", "threads",
          "seed", "data_sha256", "command", "started", "ended"}


def head() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    return done.stdout.strip() if done.returncode == 0 else provenance.NOT_GIT


def check_record(p: dict, data_dir):
    assert set(p) >= FIELDS and p["commit"] == head() and p["torch"] == torch.__version__
    assert p["threads"] == torch.get_num_threads() and p["started"] <= p["ended"]
    name = "t10k-images-idx3-ubyte"
    assert p["data_sha256"][name] == hashlib.sha256((data_dir / f"{name}.gz").read_bytes()).hexdigest()


def test_metrics_json_carries_the_record_and_the_weights_hashes(earlier_run, data_dir):
    out, _ = earlier_run  # analysis.json's record: test_analysis, on its own quick analysis
    metrics = json.loads((out / "metrics.json").read_text())
    check_record(metrics["provenance"], data_dir)
    for key in ("ffn", "cnn"):  # each network's numbers name the weights they belong to
        assert (
            metrics["networks"][key]["weights_sha256"] == hashlib.sha256((out / f"{key}.pth").read_bytes()).hexdigest()
        )


@pytest.mark.parametrize("script", ["kernel_vis.py", "analyze.py"])
def test_weights_from_another_run_are_refused_and_nothing_written(earlier_run, data_dir, script, capsys):
    out, _ = earlier_run
    torch.manual_seed(1)
    torch.save(Conv_Net().state_dict(), out / "cnn.pth")  # a valid CNN, but not this run's
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    args = ["--out-dir", str(out), "--data-dir", str(data_dir)]
    code = (kernel_vis.main(args + ["--checkpoint", str(out / "cnn.pth")]) if script == "kernel_vis.py"
            else analyze.main(args + ["--quick"]))
    err = capsys.readouterr().err.strip()
    assert code == 1 and len(err.splitlines()) == 1
    assert "is not the CNN that" in err and str(out / "metrics.json") in err and "different runs" in err
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


@pytest.mark.slow
def test_a_checkpoint_with_no_metrics_beside_it_is_shown_as_itself(earlier_run, data_dir, tmp_path):
    out, _ = earlier_run
    lone = tmp_path / "lone" / "cnn.pth"
    lone.parent.mkdir()
    shutil.copy(out / "cnn.pth", lone)
    target = tmp_path / "figures"
    assert kernel_vis.main(["--checkpoint", str(lone), "--out-dir", str(target), "--data-dir", str(data_dir)]) == 0
    assert (target / "figures.pdf").is_file()


class FiveByFive(Conv_Net):
    """Conv_Net with 5x5 kernels: the edit a student might make to the class."""

    def __init__(self):
        super().__init__(flip_tta=False)
        for name, conv in list(self.features.named_children()):
            if isinstance(conv, nn.Conv2d):
                setattr(self.features, name, nn.Conv2d(conv.in_channels, conv.out_channels, 5, padding=2, bias=False))


@pytest.mark.slow
def test_a_study_redoes_exactly_the_runs_whose_network_changed(data_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    argv = ["locality", "--quick", "--data-dir", str(data_dir), "--out-dir", str(out)]
    assert experiments.main(argv) == 0
    path = out / "experiments" / "locality" / "results.json"
    first = json.loads(path.read_text())
    check_record(first["provenance"], data_dir)
    assert all(r["provenance"]["seed"] == r["config"]["seed"] for r in first["runs"].values())

    monkeypatch.setitem(experiments.STUDIES, "locality", locality.Locality({"ffn": FF_Net, "cnn": FiveByFive}))
    capsys.readouterr()
    assert experiments.main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    second = json.loads(path.read_text())
    said = [line for line in lines if "redone" in line]
    assert said and said[0].startswith("4 runs redone: their network or objective changed since they ran (CNN ")
    for key, before in first["runs"].items():
        after = second["runs"][key]
        if before["config"]["network"] == "ffn":
            assert after == before  # kept as it was
        else:
            assert after["fingerprint"] != before["fingerprint"] and after["finished_at"] != before["finished_at"]
    assert "kept (FFN images seed 0" in " ".join(lines)
