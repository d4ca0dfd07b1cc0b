"""The studies' statistics: rows over seeds, pairing, the best-of-k line, the convergence check
(its choice of rows, its sentence both ways, its runs kept and resumed)."""
import dataclasses
import json

import pytest
import torch
from conftest import interrupt_study
from scipy import stats as scipy_stats

import experiments
from fmnist.core.words import number_words
from fmnist.studies import groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.engine import Options, run_key
from fmnist.studies.measure import seeded, splits


def _record(row, seed, val_loss, val_acc, test_acc, epochs=4, ran=None):
    return {"config": {"name": f"{row} seed {seed}", "row": row, "seed": seed, "epochs": epochs},
            "val": {"loss": val_loss, "accuracy": val_acc / 100}, "test": {"accuracy": test_acc / 100},
            "history": [{}] * (ran or epochs), "best_epoch": ran or epochs, "seconds": 10.0}


def test_rows_whose_interval_runs_past_0_to_100_are_named_unreadable():
    from fmnist.studies.engine import unsettled
    settled = [_record("A", s, 0.3, 90, acc) for s, acc in enumerate((91.0, 91.6))]
    torn = [_record("B", s, 0.3, 90, acc) for s, acc in enumerate((85.0, 24.0))]  # 54.5 ± 387.5 over 2 seeds
    assert unsettled(settled) == []
    (line,) = unsettled(settled + torn)
    assert line.startswith("Too unsettled to read: the seeds of B (54.50 ± ") and "over 2 seeds)" in line
    assert "A (" not in line


def test_a_row_summary_is_the_t_interval_of_its_seeds():
    runs = [_record("A", s, loss, 90, acc) for s, (loss, acc) in enumerate(((0.3, 91.0), (0.32, 91.6), (0.31, 90.8)))]
    s = groups.summary(runs)
    low, high = scipy_stats.t.interval(0.95, 2, loc=91.133333, scale=scipy_stats.sem([91.0, 91.6, 90.8]))
    assert s["test_acc"]["low"] == pytest.approx(low, abs=1e-4) and s["test_acc"]["high"] == pytest.approx(high, abs=1e-4)
    assert s["n"] == 3 and s["stopped"] == "epoch cap" and s["best_epochs"] == [4, 4, 4]
    assert groups.summary([_record("A", 0, 0.3, 90, 91, epochs=10, ran=6)])["stopped"] == "patience (6)"
    assert groups.cell(s["test_acc"], 2) == f"91.13 ± {s['test_acc']['half_width']:.2f}"


def test_pairing_keeps_each_seeds_subset_across_rows():
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(400) % 10
    x = torch.randn(400, 1, 28, 28, generator=gen)
    ctx = dataclasses.make_dataclass("Ctx", ["options", "splits"])(
        Options(), {"train": (x, y), "val": (x[:50], y[:50]), "test": (x[:50], y[:50])})
    configs = seeded([RunConfig(study="t", name="A"), RunConfig(study="t", name="B")], ctx)
    assert [(c["row"], c["seed"]) for c in configs] == [("A", 0), ("A", 1), ("A", 2), ("B", 0), ("B", 1), ("B", 2)]
    a0, b0, a1 = (splits(ctx, 10, c["seed"])["train"][0] for c in (configs[0], configs[3], configs[1]))
    assert torch.equal(a0, b0) and not torch.equal(a0, a1)  # one seed: one subset, whatever the row


def _study_records():
    # base is best on validation loss; "fast" runner-up; "slow" last
    return ([_record("base", s, 0.30 + s / 100, 90, 91 + s / 10) for s in range(3)]
            + [_record("fast", s, 0.32 + s / 100, 89, 90 + s / 10) for s in range(3)]
            + [_record("slow", s, 0.40, 85, 86) for s in range(3)])


def test_the_best_line_names_k_and_the_runner_up_with_its_interval():
    line = groups.best_line(_study_records(), "val_loss")
    assert line.startswith("lowest mean validation loss of 3 rows: base 0.3100 ± ")
    assert "runner-up fast 0.3300 ± " in line and "base ahead of fast by 0.02" in line
    line = groups.best_line(_study_records(), "test_acc", digits=2)
    assert line.startswith("highest mean test accuracy (%) of 3 rows: base 91.10") and "points" in line


def test_the_convergence_check_reruns_the_top_two_with_twice_the_epochs():
    configs = groups.longer_configs(_study_records(), "val_loss")
    assert [(c["row"], c["seed"], c["epochs"]) for c in configs] == [(r, s, 8) for r in ("base", "fast") for s in range(3)]
    assert all(c["longer"] and c["name"].endswith("(2x epochs)") for c in configs)


def test_convergence_reversal_is_said():
    longer = ([_record("base", s, 0.30, 90, 91, epochs=8) for s in range(3)]
              + [_record("fast", s, 0.28 - s / 1000, 90, 91, epochs=8) for s in range(3)])
    check = groups.convergence(_study_records(), longer, "val_loss")
    assert not check["holds"] and "their order is reversed" in check["sentence"]
    assert "fast ahead of base by 0.02" in check["sentence"]  # the interval at 8 epochs excludes 0
    longer[3:] = [_record("fast", s, 0.35, 90, 91, epochs=8) for s in range(3)]
    check = groups.convergence(_study_records(), longer, "val_loss")
    assert check["holds"] and "their order holds" in check["sentence"] and "base ahead of fast" in check["sentence"]


def test_the_longer_runs_are_kept_and_resumed_like_any_run(data_dir, tmp_path, monkeypatch, capsys):
    study = interrupt_study(monkeypatch, "locality", after=9)  # Ctrl-C in the convergence check (8 runs + 1)
    out = tmp_path / "out"
    argv = ["locality", "--quick", "--data-dir", str(data_dir), "--out-dir", str(out)]
    assert experiments.main(argv) == 130
    path = out / "experiments" / "locality" / "results.json"
    first = json.loads(path.read_text())
    assert len(first["runs"]) == 9 and len(first["longer"]) == 4 and first["finished"] is None
    monkeypatch.setitem(experiments.STUDIES, "locality", study)
    capsys.readouterr()
    assert experiments.main(argv) == 0
    text = capsys.readouterr().out
    assert "locality: 8 runs; 8 finished earlier are kept" in text and "locality: 4 runs; 1 finished earlier" in text
    second = json.loads(path.read_text())
    assert second["longer"] == first["longer"] and all(second["runs"][k] == v for k, v in first["runs"].items())
    assert "Convergence check, validation loss:" in (out / "experiments" / "locality" / "table.md").read_text()


def test_a_run_configuration_is_typed_and_keyed_like_the_dict_it_is_saved_as():
    c = RunConfig(study="t", name="A seed 0", seed=0, lr=0.05, epochs=4, widths=[24, 48], train_per_class=None)
    saved = {"study": "t", "name": "A seed 0", "seed": 0, "lr": 0.05, "epochs": 4, "widths": [24, 48],
             "train_per_class": None}
    assert dict(c) == saved and {**c} == saved and run_key(c) == run_key(saved)  # None is a value, kept
    assert c["lr"] == c.lr == 0.05 and c.get("patience", 7) == 7 and "patience" not in c
    assert c.but(seed=1)["seed"] == 1 and c["seed"] == 0  # frozen: a copy changes
    with pytest.raises(TypeError, match="lrr"):  # a misspelt field fails when the plan is made
        RunConfig(study="t", name="A", lrr=0.05)
    with pytest.raises(TypeError, match="epochs"):  # so does a value of the wrong type
        RunConfig(study="t", name="A", epochs="4")
    with pytest.raises(KeyError):
        c.get("lrr")


def test_every_studys_quick_plan_is_made_of_run_configurations():
    ctx = dataclasses.make_dataclass("Ctx", ["options", "splits"])(Options(quick=True), {})
    for study in experiments.STUDIES.values():
        if study.name in ("pretrain", "transfer"):
            continue  # their plans read the data's halves; tests/test_sweep.py runs them
        configs = study.plan(ctx)
        assert configs and all(isinstance(c, RunConfig) for c in configs)
        assert len({run_key(c) for c in configs}) == len(configs)  # one key per run


def test_the_set_up_sentence_is_computed_from_the_configuration():
    from fmnist.core.words import training_words
    c = RunConfig(study="t", name="a", optimizer="sgd", momentum=0.9, lr=0.05, weight_decay=5e-4, batch_size=128,
                   flip=True, epochs=4)
    assert training_words(c) == ("SGD with Nesterov momentum 0.9, one-cycle learning rate peaking at 0.05, L2 5e-4, "
                                 "batch 128, random mirroring, 4 epochs")
    other = c.but(optimizer="adam", momentum=0.0, lr=1e-3, weight_decay=0.0, flip=False, patience=5, epochs=30,
                  init="he", label_smoothing=0.1)
    assert training_words(other) == ("Adam, one-cycle learning rate peaking at 1e-3, L2 0, batch 128, label smoothing "
                                     "0.1, He initialisation, no mirroring, early stopping on validation loss with "
                                     "patience 5 and an epoch cap of 30")
    assert training_words(c.but(momentum=0.0), varied=("lr", "batch_size")) == (
        "SGD without momentum, one-cycle learning rate, L2 5e-4, random mirroring, 4 epochs")
    assert [number_words(x) for x in (5e-4, 1e-3, 0.005, 0.0, 128)] == ["5e-4", "1e-3", "0.005", "0", "128"]
