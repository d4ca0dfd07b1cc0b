"""The pretrain and transfer studies: the two halves, nested fractions, weights copied and
not shared, a fresh classification layer, and resuming an interrupted sweep."""
import json
from types import SimpleNamespace

import pytest
import torch

import experiments
from fmnist.core import stats
from fmnist.reports import sweeps
from fmnist.studies.networks import ConvAutoencoder, HalfCNN
from fmnist.studies.pretrain import copy_encoder
from fmnist.studies.sweep import HALF1, HALF2, half, nested, seed_level, verdict_figures, verdict_table, verdicts
from fmnist.studies.transfer import transfer_weights
from helpers import interrupt_study


def test_halves_filter_and_relabel():
    y = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 8, 2])
    x = y.float()[:, None, None, None].expand(-1, 1, 28, 28)
    x1, y1 = half((x, y), HALF1)
    x2, y2 = half((x, y), HALF2)
    assert y1.tolist() == [0, 1, 2, 3, 4, 4] and x1[:, 0, 0, 0].tolist() == [0, 1, 4, 5, 8, 8]
    assert y2.tolist() == [0, 1, 2, 3, 4, 0] and x2[:, 0, 0, 0].tolist() == [2, 3, 6, 7, 9, 2]


def test_fractions_are_stratified_nested_and_the_right_size():
    y = torch.cat([torch.full((n,), k) for k, n in enumerate((100, 80, 61, 40, 7))])[torch.randperm(288)]
    previous = set()
    for f in (0.05, 0.1, 0.2, 0.6, 1.0):
        idx = nested(y, f)
        counts = torch.bincount(y[idx], minlength=5).tolist()
        assert counts == [max(1, round(f * n)) for n in (100, 80, 61, 40, 7)]
        assert previous <= set(idx.tolist()) and len(set(idx.tolist())) == len(idx)
        previous = set(idx.tolist())
    assert nested(y, 0.2).tolist() == nested(y, 0.2).tolist()  # a fixed seed


def test_encoder_weights_are_copied_not_shared():
    autoencoder, model = ConvAutoencoder(), HalfCNN(5)
    copy_encoder(model, autoencoder)
    for (name, a), b in zip(autoencoder.encoder.state_dict().items(), model.features.state_dict().values()):
        assert torch.equal(a, b), name
    with torch.no_grad():
        model.features.conv1.weight.add_(1.0)
    assert not torch.equal(model.features.conv1.weight, autoencoder.encoder.conv1.weight)
    with torch.no_grad():
        autoencoder.encoder.conv2.weight.mul_(2.0)
    assert not torch.equal(model.features.conv2.weight, autoencoder.encoder.conv2.weight)


def test_transfer_keeps_everything_but_a_fresh_classification_layer(tmp_path):
    source = HalfCNN(5)
    with torch.no_grad():
        for p in source.parameters():
            p.add_(0.5)  # unlike any fresh initialisation
    torch.save(source.state_dict(), tmp_path / "source.pth")
    model = HalfCNN(5)
    own_fc = {k: v.clone() for k, v in model.state_dict().items() if k.startswith("classifier.fc.")}
    transfer_weights(model, SimpleNamespace(folder=tmp_path))
    for k, v in model.state_dict().items():
        if k.startswith("classifier.fc."):
            assert torch.equal(v, own_fc[k]) and not torch.equal(v, source.state_dict()[k]), k
        else:
            assert torch.equal(v, source.state_dict()[k]), k
            assert v.data_ptr() != source.state_dict()[k].data_ptr()


def test_autoencoder_output_shape_and_range():
    out = ConvAutoencoder().eval()(torch.randn(3, 1, 28, 28))
    assert out.shape == (3, 1, 28, 28) and out.abs().max() <= 1


def _sweep_record(start, fraction, seed, acc, loss):
    return {"config": {"kind": "sweep", "name": f"{start} {100 * fraction:g}% seed {seed}",
                       "row": f"{start} {100 * fraction:g}%", "start": start, "fraction": fraction,
                       "seed": seed, "epochs": 1}, "seconds": 1.0, "sizes": {"train": 10},
            "lowest_train_loss": loss, "lowest_val_loss": loss, "best_epoch": 1, "history": [{}],
            "train": {"accuracy": acc}, "val": {"accuracy": acc, "loss": loss}, "test": {"accuracy": acc}}


def test_verdicts_follow_the_numbers():
    records = [_sweep_record("random", 0.05, s, a, 1.0 + s / 100) for s, a in enumerate((0.70, 0.72, 0.71))]
    records += [_sweep_record("pretrained", 0.05, s, a, 0.8 + s / 50) for s, a in enumerate((0.80, 0.81, 0.79))]
    records += [_sweep_record("random", 1.0, s, a, 0.3) for s, a in enumerate((0.90, 0.91, 0.905))]
    records += [_sweep_record("pretrained", 1.0, s, a, 0.3) for s, a in enumerate((0.905, 0.905, 0.91))]
    acc_summary, loss_summary = verdicts(records, ("random", "pretrained"))
    assert acc_summary.startswith("test accuracy (%): ") and loss_summary.startswith("validation loss: ")
    assert "pretrained ahead at 1 and random ahead at 0 of 2 settings" in acc_summary
    # seed by seed over the two fractions: (10 + 0.5) / 2, (9 - 0.5) / 2, (8 + 0.5) / 2 points
    assert "seed by seed, pretrained ahead of random by 4.58 points (95 % CI +3.15 to +6.02 points" in acc_summary
    # each fraction's interval is a table row: [fraction, test acc, val loss], * where it excludes 0
    columns, rows, _notes = verdict_table(records, ("random", "pretrained"))
    assert columns[1] == "test acc %, pretrained - random" and columns[2] == "val loss, random - pretrained"
    assert [r[0] for r in rows] == ["5%", "100%"]
    assert rows[0][1].startswith("+9.00 (") and rows[0][1].endswith(" *")
    assert rows[1][1].startswith("+0.17 (") and not rows[1][1].endswith("*")  # +0.5, -0.5, +0.5
    assert rows[0][2].startswith("+0.1900 (")  # random's loss minus pretrained's: 0.2, 0.19, 0.18
    (page,) = verdict_figures(records, ("random", "pretrained"))
    assert page.table_text["rows"] == rows
    # the same numbers with the starts' roles swapped give the mirrored sentence
    swapped = [
        {
            **r,
            "config": {
                **r["config"],
                "start": {"random": "pretrained", "pretrained": "random"}[r["config"]["start"]],
                "row": r["config"]["row"]
                .replace("random", "X")
                .replace("pretrained", "random")
                .replace("X", "pretrained"),
            },
        }
        for r in records
    ]
    assert "pretrained ahead at 0 and random ahead at 1" in verdicts(swapped, ("random", "pretrained"))[0]


def test_a_claim_across_every_setting_needs_every_interval():
    ahead = {f: stats.paired({0: 1, 1: 2, 2: 3}, {0: 2, 1: 3.1, 2: 3.9}) for f in ("5%", "10%", "20%", "50%", "100%")}
    assert stats.across(ahead, "A", "B").startswith("B ahead of A at every one of the 5 settings")
    ahead["100%"] = stats.paired({0: 1, 1: 2, 2: 3}, {0: 2, 1: 1.0, 2: 3.1})
    words = stats.across(ahead, "A", "B")
    assert words.startswith("B ahead at 4 and A ahead at 0 of 5 settings")
    # 4 hits in 5 tests where 0.25 are expected: binom(5, 0.05) gives at least 4 with p = 3.0e-05
    assert "4 of 5 settings, where chance alone gives 0.25 (p = 3e-05 for 4 or more): more than chance" in words


def test_a_sweep_claim_takes_the_seed_as_its_unit_both_ways():
    # seed 0 gains 1 point at every fraction, seed 1 loses 1, seed 2 gains 0.1: every fraction's
    # mean is +0.033 and the seed-level interval spans zero, so no difference across the sweep
    gains = {0: 1.0, 1: -1.0, 2: 0.1}
    records = [_sweep_record(start, f, seed, (80 + f + (gains[seed] if start == "pretrained" else 0)) / 100, 0.5)
               for f in (0.05, 0.5, 1.0) for start in ("random", "pretrained") for seed in gains]
    overall = seed_level(records, ("random", "pretrained"), "test_acc")
    assert overall["n"] == 3 and overall["mean"] == pytest.approx(0.1 / 3)
    assert overall["low"] < 0 < overall["high"]
    short = sweeps.in_short(records, ("random", "pretrained"))
    assert "by test accuracy, no difference detected (+0.03 points" in short
    steady = {0: 1.0, 1: 1.2, 2: 0.9}  # every seed ahead by about a point: the interval excludes zero
    records = [_sweep_record(start, f, seed, (80 + f + (steady[seed] if start == "pretrained" else 0)) / 100,
                             0.5 - (steady[seed] if start == "pretrained" else 0) / 100)
               for f in (0.05, 0.5, 1.0) for start in ("random", "pretrained") for seed in steady]
    short = sweeps.in_short(records, ("random", "pretrained"))
    assert "by test accuracy, pretrained ahead by 1.03 points" in short
    assert "by lowest validation loss, pretrained ahead by 0.0103" in short  # its loss lower by a point, seed by seed
    # a loss reads the other way round: > 0 when the second start's loss is lower
    loss = seed_level(records, ("random", "pretrained"), "val_loss")
    assert loss["mean"] == pytest.approx((1.0 + 1.2 + 0.9) / 3 / 100) and loss["low"] > 0


@pytest.mark.slow
def test_an_interrupted_sweep_keeps_its_finished_runs(data_dir, tmp_path, monkeypatch, capsys):
    study = interrupt_study(monkeypatch, "pretrain", after=3)
    out = tmp_path / "out"
    args = ["pretrain", "--quick", "--data-dir", str(data_dir), "--out-dir", str(out)]
    assert experiments.main(args) == 130
    folder = out / "experiments" / "pretrain"
    first = json.loads((folder / "results.json").read_text())
    assert len(first["runs"]) == 3 and (folder / "autoencoder.pth").is_file()
    monkeypatch.setitem(experiments.STUDIES, "pretrain", study)
    assert experiments.main(args) == 0
    assert (
        "3 finished earlier are kept (autoencoder, random 10% seed 0, pretrained 10% seed 0)" in capsys.readouterr().out
    )
    second = json.loads((folder / "results.json").read_text())
    assert (
        second["finished"] and len(second["plan"]) == 1 + 2 * 2 * 2
    )  # the autoencoder; 2 fractions x 2 seeds x 2 starts
    assert len(second["runs"]) == len(second["plan"])
    for key, record in first["runs"].items():
        assert second["runs"][key] == record
    (folder / "autoencoder.pth").unlink()  # without its weights, the autoencoder and the pretrained runs are redone
    assert experiments.main(args) == 0
    assert "4 finished earlier are kept" in capsys.readouterr().out
    third = json.loads((folder / "results.json").read_text())
    assert all(third["runs"][k] == second["runs"][k] for k in second["runs"]
               if second["runs"][k]["config"].get("start") == "random")

    assert experiments.main(args + ["--fresh"]) == 0  # --fresh redoes every run
    assert "finished earlier" not in capsys.readouterr().out
    fourth = json.loads((folder / "results.json").read_text())
    assert all(fourth["runs"][k]["finished_at"] != third["runs"][k]["finished_at"] for k in fourth["plan"])


def test_the_trend_sentence_follows_the_per_fraction_gains_both_ways(monkeypatch):
    def diffs(means, ahead=()):
        return {f"{5 * (k + 1)}%": {"mean": m, "low": m - 0.01 if k in ahead else -1.0, "high": m + 1.0, "n": 3}
                for k, m in enumerate(means)}
    shrinking = diffs([0.08, 0.06, 0.05, 0.03, 0.02, 0.01], ahead=(0, 1, 4))
    monkeypatch.setattr(sweeps.sweep, "differences", lambda records, starts, measure: shrinking)
    words = sweeps.trend_words([], ("random", "transferred"))
    assert "+0.0800 at 5% and +0.0100 at 30%, and shrinks as the data grows" in words
    assert "2 of the 3 fractions where its interval puts it ahead lie in the lower half, at or below 15%" in words
    flat = diffs([0.01, -0.02, 0.03, -0.01, 0.02, 0.0])
    monkeypatch.setattr(sweeps.sweep, "differences", lambda records, starts, measure: flat)
    words = sweeps.trend_words([], ("random", "transferred"))
    assert "shows no trend with the amount of data" in words and "lower half" not in words
    growing = diffs([0.0, 0.01, 0.02, 0.03, 0.05, 0.08])
    monkeypatch.setattr(sweeps.sweep, "differences", lambda records, starts, measure: growing)
    assert "grows with the data" in sweeps.trend_words([], ("random", "transferred"))
