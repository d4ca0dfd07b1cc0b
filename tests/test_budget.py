"""benchmark.py --time-budgets (fmnist.bench.budget): the epochs of each budget, resuming, and the table's
verdicts and target against hand-made numbers."""
import json

import pytest
import torch

import benchmark
from cnn import Conv_Net
from fmnist.bench import budget
from fmnist.core import data, stats
from fmnist.core.training import TrainSettings

TWO = {"plain": {"model": {"widths": [4, 8, 8], "extra": [0, 0, 0]}, "train": {}},
       "deeper": {"model": {"widths": [4, 8, 8], "extra": [0, 0, 1]}, "train": {"alternate": True}}}


def test_calibration_gives_each_family_the_same_seconds():
    """A family whose step takes half as long gets twice the epochs for the same budget."""
    ms = {4: 0.040, 8: 0.020}  # seconds per step by first width
    cal = budget.calibrate({"a": {"model": {"widths": [4, 8, 8]}}, "b": {"model": {"widths": [8, 8, 8]}}}, Conv_Net,
                           lambda fn: ms[fn().conv1.out_channels], base_epochs=10)
    assert cal["step_ms"] == pytest.approx({"a": 40.0, "b": 20.0})
    assert cal["epochs"] == {"a": {"1": 10, "1.5": 15, "2": 20}, "b": {"1": 20, "1.5": 30, "2": 40}}


def test_runs_resume_and_the_table_reads_them(data_dir, tmp_path, monkeypatch):
    splits = data.load(data_dir)
    settings = TrainSettings(epochs=1, batch_size=64, lr=0.05)
    path = tmp_path / "budget.json"
    trained = []
    real = budget.run_one
    monkeypatch.setattr(budget, "RATIOS", (1.0, 2.0))
    step = lambda fn: 0.001 * (1 + len(fn().features))  # noqa: E731  a deeper net steps slower

    class Stop(Exception):
        pass

    def interrupted(*a):  # Ctrl-C as the third run starts
        if len(trained) == 2:
            raise Stop
        trained.append(a)
        return real(*a)

    monkeypatch.setattr(budget, "run_one", interrupted)
    with pytest.raises(Stop):
        budget.execute(path, Conv_Net, settings, splits, torch.device("cpu"), "cpu", 2, step, families=TWO)
    kept = json.loads(path.read_text())
    assert len(kept["runs"]) == 2  # the finished runs were saved as they finished
    monkeypatch.setattr(budget, "run_one", lambda *a: trained.append(a) or real(*a))
    results = budget.execute(path, Conv_Net, settings, splits, torch.device("cpu"), "cpu", 2, step, families=TWO)
    assert len(trained) == 2 * 2 * 2 and len(results["runs"]) == 8  # 2 families x 2 budgets x 2 seeds, none twice
    assert results["calibration"] == kept["calibration"]  # the plan of the first start is kept
    budget.execute(path, Conv_Net, settings, splits, torch.device("cpu"), "cpu", 2, step, families=TWO)
    assert len(trained) == 8  # all in: nothing retrained
    text = "\n".join(budget.markdown(results))
    assert "| plain | 1x |" in text and "| deeper | 2x |" in text


def made_up(accs: dict) -> dict:
    """results with the given accuracies: {(family, ratio): [acc per seed]}, 100 s per budget unit."""
    families = {}
    runs = []
    for (name, ratio), values in accs.items():
        families[name] = {}
        runs += [{"family": name, "ratio": ratio, "seed": s, "epochs": 10, "seconds": 100 * float(ratio),
                  "test_acc": a / 100} for s, a in enumerate(values)]
    return {"families": families, "precision": "fp32", "device": "cpu", "runs": runs,
            "calibration": {"base_epochs": 10, "step_ms": {n: 40.0 for n in families}, "epochs": {}}}


def test_verdicts_and_target_come_from_the_numbers():
    ahead = made_up({("old", "1"): [93.5, 93.6, 93.7], ("new", "1"): [94.1, 94.1, 94.3]})
    rows = {r["family"]: r for r in budget.summary(ahead)}
    diff = stats.paired({0: 93.5, 1: 93.6, 2: 93.7}, {0: 94.1, 1: 94.1, 2: 94.3})
    assert rows["new"]["verdict"] == stats.verdict(diff, "old", "new", budget="1x the training time")
    assert rows["new"]["verdict"].startswith("new ahead of old")
    assert rows["new"]["target_met"] and not rows["old"]["target_met"]
    assert rows["new"]["times_base"] == pytest.approx(1.0)
    text = "\n".join(budget.markdown(ahead))
    assert "meets the target (94.0 % mean, none below 93.7 %) is new at 1x" in text
    assert "At 1x, new is ahead of old" in text and "make the default" in text
    # one seed under the floor fails the target whatever the mean; overlapping seeds give no verdict
    close = made_up({("old", "1"): [93.9, 94.2, 93.6], ("new", "1"): [94.5, 94.4, 93.6]})
    rows = {r["family"]: r for r in budget.summary(close)}
    assert not rows["new"]["target_met"] and rows["new"]["min"] == pytest.approx(93.6)
    assert rows["new"]["verdict"].startswith("no difference detected")
    text = "\n".join(budget.markdown(close))
    assert "No family meets the target" in text and "so the default stays old" in text
    assert "the highest mean is 94.17 % (new at 1x" in text


@pytest.mark.slow
def test_benchmark_budgets_writes_its_table_and_figure(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(budget, "FAMILIES", TWO)
    monkeypatch.setattr(budget, "RATIOS", (1.0,))
    monkeypatch.setattr(benchmark, "default_settings",
                        lambda key, precision: TrainSettings(epochs=1, batch_size=64, lr=0.05, precision=precision))
    out = tmp_path / "out"
    assert benchmark.main(["--time-budgets", "--budget-seeds", "1", "--data-dir", str(data_dir), "--out-dir", str(out),
                           "--precision", "fp32"]) == 0
    md = (out / "benchmark.md").read_text()
    assert "| plain | 1x |" in md and "budget.png" in md and (out / "budget.png").stat().st_size > 0
    assert "Full runs" not in md  # --time-budgets alone runs no full default run


def test_families_that_differ_only_in_training_get_the_same_epochs():
    """Timing noise must not give the same network fewer epochs because its training differs."""
    calls = iter([0.040, 0.030, 0.050, 0.020])  # network a, network b, then again
    fams = {"a": {"model": {"widths": [4, 8, 8]}, "train": {}}, "a alternating": {"model": {"widths": [4, 8, 8]},
            "train": {"alternate": True}}, "b": {"model": {"widths": [8, 8, 8]}, "train": {}}}
    cal = budget.calibrate(fams, Conv_Net, lambda fn: next(calls), base_epochs=10, rounds=2)
    assert cal["step_ms"] == pytest.approx({"a": 40.0, "a alternating": 40.0, "b": 20.0})
    assert cal["epochs"]["a alternating"] == cal["epochs"]["a"] == {"1": 10, "1.5": 15, "2": 20}


@pytest.mark.slow
def test_a_damaged_budget_file_is_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "budget.json").write_text('{"families": ')
    argv = ["--time-budgets", "--budget-seeds", "1", "--out-dir", str(out), "--precision", "fp32"]
    assert benchmark.main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "budget.json" in err[0] and "Traceback" not in err[0]
