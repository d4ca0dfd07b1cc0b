"""The studies' statistics: rows over seeds, pairing, the best-of-k line, the stop rule (early
stopping, or a ceiling that marks a run not converged, and the verdicts that say so)."""
import dataclasses
import json

import numpy as np
import pytest
import torch
from scipy import stats as scipy_stats

import experiments
from fmnist.core.words import number_words, share
from fmnist.studies import channels, groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.measure import seeded, splits
from fmnist.studies.study import Context, Options, Study, as_config, run_key
from helpers import ROOT


def _record(row, seed, val_loss, val_acc, test_acc, epochs=4, ran=None, patience=None, best=None):
    config = {"name": f"{row} seed {seed}", "row": row, "seed": seed, "epochs": epochs}
    if patience is not None:
        config["patience"] = patience
    return {
        "config": config,
        "val": {"loss": val_loss, "accuracy": val_acc / 100},
        "test": {"accuracy": test_acc / 100},
        "history": [{}] * (ran or epochs),
        "best_epoch": best or ran or epochs,
        "seconds": 10.0,
        "sizes": {"train": 5000},
    }


def test_rows_whose_interval_runs_past_0_to_100_are_named_unreadable():
    from fmnist.studies.tables import unsettled
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
    assert s["test_acc"]["low"] == pytest.approx(low, abs=1e-4) and s["test_acc"]["high"] == pytest.approx(
        high, abs=1e-4
    )
    assert s["n"] == 3 and s["stopped"] == "fixed 4 epochs" and s["best_epochs"] == [4, 4, 4]
    assert groups.unconverged({"A": runs}) == [] and groups.caveat({"A": runs}) == ""  # fixed epochs: its setting
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


def test_a_run_converged_only_when_patience_ran_out_before_the_ceiling():
    early = _record("A", 0, 0.3, 90, 91, epochs=60, ran=12, patience=5, best=7)
    late = _record("A", 1, 0.3, 90, 91, epochs=10, ran=10, patience=5, best=9)  # still improving at the ceiling
    edge = _record("A", 2, 0.3, 90, 91, epochs=10, ran=10, patience=5, best=5)  # patience ran out at the ceiling
    assert [groups.converged(r) for r in (early, late, edge)] == [True, False, True]
    autoencoder = {"config": {"name": "ae", "epochs": 200, "patience": 5}, "history": [{}] * 64, "best_epoch": 59}
    assert groups.converged(autoencoder)  # a run with no classification scores converges all the same
    assert groups.stop_reason(late) == "ceiling 10: not converged" and groups.stop_reason(early) == "early stop (12)"
    assert groups.stopped([early, late, edge]) == "early stop (10-12), ceiling 10: not converged (1 of 3)"
    assert groups.stopped([late]) == "ceiling 10: not converged"


def test_a_verdict_over_a_row_that_did_not_converge_says_so():
    from fmnist.studies.tables import unfinished
    converged = [_record(r, s, loss + s / 100, 90, 91, epochs=60, ran=15, patience=5, best=10)
                 for r, loss in (("base", 0.30), ("fast", 0.32)) for s in range(3)]
    line = groups.best_line(converged, "val_loss")
    assert "base ahead of fast" in line and "not converged" not in line and unfinished(converged) == []
    cut = [r if r["config"]["row"] == "base" else _record("fast", r["config"]["seed"], r["val"]["loss"], 90, 91,
                                                           epochs=8, ran=8, patience=5, best=8) for r in converged]
    line = groups.best_line(cut, "val_loss")
    assert line.endswith("(not converged: fast reached the epoch ceiling before early stopping: their validation loss "
                         "was still falling at the ceiling (lowest in the last epoch), so this compares unfinished "
                         "training)")
    cut = [r if r["config"]["row"] == "base" else _record("fast", r["config"]["seed"], r["val"]["loss"], 90, 91,
                                                           epochs=8, ran=8, patience=5, best=6) for r in converged]
    assert groups.best_line(cut, "val_loss").endswith("before early stopping: their validation loss had not yet "
                                                      "stopped falling for 5 epochs, so this compares unfinished "
                                                      "training)")
    (note,) = unfinished(cut)
    assert note.startswith("Not converged: fast (ceiling 8: not converged) reached the epoch ceiling")
    assert groups.budget_line(cut, "default") == (
        "Budget default: 5,000 training images per run; seeds 0, 1, 2; early stopping on the validation loss "
        "(patience 5, ceiling 60 epochs, an epoch 39 optimizer steps, 8-15 epochs run; 3 of 6 runs reached the "
        "ceiling).")


def test_the_tables_mark_is_explained_under_it_both_ways():
    from fmnist.studies.tables import marked, summary_table
    records = [_record(r, s, loss, acc, 90) for r, loss, acc in (("a", 0.3, 91), ("b", 0.2, 89)) for s in range(3)]
    results = {"plan": list(range(6)), "runs": dict(enumerate(records))}

    class ByLoss(Study):
        measure = "val_loss"

        def describe(self, runs, records):
            return {}

    _, body = summary_table(ByLoss(), results)
    assert [row[0] for row in body] == ["a", "b *"]
    assert marked(ByLoss(), results)[0].startswith("* b: the lowest mean validation loss of the compared rows")
    ByLoss.measure = "val_acc"
    assert marked(ByLoss(), results)[0].startswith("* a: the highest mean validation accuracy (%)")


def test_the_budget_line_and_stop_column_follow_how_the_runs_ended():
    early = [_record("base", s, 0.3, 90, 91, epochs=60, ran=ran, patience=5, best=ran - 5)
             for s, ran in enumerate((12, 16, 14))]
    assert groups.budget_line(early, "default") == (
        "Budget default: 5,000 training images per run; seeds 0, 1, 2; early stopping on the validation loss "
        "(patience 5, ceiling 60 epochs, an epoch 39 optimizer steps, 12-16 epochs run; every run stopped early).")
    assert groups.stopped(early) == "early stop (12-16)"
    assert [groups.epochs_run(r) for r in early] == [12, 16, 14]
    hit = early[:2] + [_record("base", 2, 0.3, 90, 91, epochs=60, ran=60, patience=5, best=59)]
    assert groups.stopped(hit) == "early stop (12-16), ceiling 60: not converged (1 of 3)"
    fixed = [_record("short", s, 0.5, 80, 80, epochs=2) for s in range(3)]
    assert groups.stopped(fixed) == "fixed 2 epochs"
    assert groups.budget_line(early + fixed, None).endswith(
        "every run stopped early); some rows a fixed 2 epochs.")
    assert groups.budget_line(fixed, "spec") == ("Budget spec: 5,000 training images per run; seeds 0, 1, 2; "
                                                 "a fixed 2 epochs.")
    assert groups.budget_line([], "spec") == "Budget spec: no finished runs."


def test_the_budget_line_says_what_share_of_the_spec_s_data_a_run_trains_on():
    one = [_record("base", s, 0.3, 90, 91, epochs=60, ran=12, patience=5, best=7) for s in range(3)]
    assert groups.budget_line(one, "default", 55_000).startswith(
        "Budget default: 5,000 training images per run (9.1 % of the spec's 55,000); seeds 0, 1, 2;")
    assert groups.budget_line(one, "spec", 5_000).startswith(
        "Budget spec: 5,000 training images per run (100 % of the spec's 5,000);")
    swept = one + [{**one[0], "sizes": {**one[0]["sizes"], "train": 125}}]
    assert groups.budget_line(swept, "default", 27_540).startswith(
        "Budget default: 125-5,000 training images per run (at most 18.2 % of the spec's 27,540);")
    upstream = {**one[0], "config": {**one[0]["config"], "kind": "upstream"}, "sizes": {"train": 27_460}}
    assert groups.budget_line(swept + [upstream], "default", 27_540).startswith(
        "Budget default: 125-27,460 training images per run (the compared runs: at most 18.2 % of the spec's 27,540);")
    assert share(125, 27_540) == "0.45 % of the spec's 27,540"
    assert "% of the spec" not in groups.budget_line(one, "default")  # a record from before the pool was kept


def test_each_study_s_pool_is_the_training_split_or_its_half():
    from fmnist.studies import pretrain, transfer, tuning, variants
    from fmnist.studies.sweep import HALF1, HALF2
    y = torch.arange(100) % 10  # 10 images a class
    splits = {"train": (torch.zeros(100, 1, 28, 28), y)}
    assert experiments.STUDIES["reference"].pool(splits) == 100
    for study in (variants.STUDY, pretrain.STUDY, transfer.STUDY):
        assert study.pool(splits) == 10 * len(HALF1)
    assert tuning.STUDY.pool({"train": (None, y[y != 0])}) == 10 * len(HALF2)
    assert variants.STUDY.pool({"train": (None, y[y != 0])}) == 10 * (len(HALF1) - 1)


def test_a_reports_convergence_words_follow_the_runs_both_ways():
    from fmnist.reports.build import convergence_words
    setting = {"optimizer": "sgd", "momentum": 0.9, "lr": 0.05, "schedule": "plateau", "weight_decay": 5e-4,
               "batch_size": 64, "flip": False}
    early = [_record("winner", s, 0.3, 90, 91, epochs=60, ran=ran, patience=5, best=ran - 5)
             for s, ran in enumerate((14, 20, 17))]
    for r in early:
        r["config"].update(setting)
    words = convergence_words(early)
    assert words.startswith("3 seeds, SGD with Nesterov momentum 0.9, learning rate 0.05 after a one-epoch warm-up")
    assert (
        "5,000 training images, early stopping (patience 5, ceiling 60), 14-20 epochs run; best epochs 9, 15, 12."
        in words
    )
    assert words.endswith("so it was trained to convergence.")
    cut = early[:2] + [_record("winner", 2, 0.3, 90, 91, epochs=60, ran=60, patience=5, best=60)]
    cut[2]["config"].update(setting)
    words = convergence_words(cut)
    assert words.endswith("1 of 3 seeds did not stop by early stopping (early stop (14-20), ceiling 60: not converged "
                          "(1 of 3)): not trained to convergence.")


def test_the_train_test_ratio_is_defined_from_the_rows_sizes():
    from fmnist.studies.settings import ratio_words

    def run(factor, row, train):
        return {
            "config": {"factor": factor, "row": row, "name": f"{row} seed 0"},
            "sizes": {"train": train, "test": 10000},
        }

    words = ratio_words([run("base", "base", 5000), run("train/test ratio", "train 25%", 1250),
                         run("batch size", "batch 32", 5000), run("base", "base", 5000)])
    assert words == ("The train/test ratio is the number of training images to the number of test images (the test "
                     "set fixed): base 5,000:10,000 = 0.5, train 25% 1,250:10,000 = 0.125.")
    assert ratio_words([run("batch size", "batch 32", 5000)]) == ""


def test_tunings_winner_and_its_sentences_follow_the_validation_losses():
    from fmnist.studies import tuning

    def results(losses: dict) -> dict:
        runs = {}
        for row, (optimizer, lr, base) in losses.items():
            for s in range(3):
                r = _record(row, s, base + s / 1000, 90, 91, epochs=60, ran=20, patience=5, best=15)
                r["config"].update(optimizer=optimizer, lr=lr, momentum=0.9, dropout=0.25)
                runs[f"{row}{s}"] = r
        return {"finished": "2026-12-03", "plan": list(runs), "runs": runs}

    adam_wins = results({tuning.DEFAULT: ("sgd", 0.05, 0.30), "Adam lr 0.001 dropout 0.25": ("adam", 0.001, 0.20)})
    assert tuning.winner(adam_wins) == {"row": "Adam lr 0.001 dropout 0.25", "optimizer": "adam", "lr": 0.001,
                                        "momentum": 0.9, "dropout": 0.25}
    first, source, against = tuning.STUDY.headline(adam_wins)
    assert first.startswith("Lowest mean validation loss of 2 rows: Adam lr 0.001 dropout 0.25")
    assert source == "The transfer study's source network trains with the winner, Adam lr 0.001 dropout 0.25."
    assert against.startswith(f"Against the default setting ({tuning.DEFAULT}, which the Fashion-MNIST-1 sweep "
                              f"runs keep): Adam lr 0.001 dropout 0.25 ahead of {tuning.DEFAULT}")
    default_wins = results({tuning.DEFAULT: ("sgd", 0.05, 0.20), "Adam lr 0.001 dropout 0.25": ("adam", 0.001, 0.30)})
    assert tuning.winner(default_wins)["row"] == tuning.DEFAULT
    assert len(tuning.STUDY.headline(default_wins)) == 2  # the winner is the default: nothing to set against it
    assert tuning.winner({**adam_wins, "finished": None}) is None


@pytest.mark.slow
def test_a_quick_studys_runs_reach_their_ceiling_and_its_table_says_so(data_dir, tmp_path):
    out = tmp_path / "out"
    assert experiments.main(["locality", "--quick", "--data-dir", str(data_dir), "--out-dir", str(out)]) == 0
    results = json.loads((out / "experiments" / "locality" / "results.json").read_text())
    records = [results["runs"][k] for k in results["plan"]]
    assert all(r["config"]["patience"] == 5 and r["config"]["schedule"] == "plateau" and len(r["history"]) == 1
               for r in records)  # --quick: a ceiling of 1 epoch, which patience 5 never beats
    table = (out / "experiments" / "locality" / "table.md").read_text()
    assert "ceiling 1: not converged" in table and "Not converged: FFN images (ceiling 1: not converged)" in table
    from fmnist.core.data import load
    assert results["pool"] == len(load(data_dir)["train"][1])  # the whole training split, which --quick samples
    assert (
        f"Budget default: 220 training images per run ({share(220, results['pool'])}); seeds 0, 1; early stopping on "
        "the validation loss (patience 5, ceiling 1 epoch, an epoch 1 optimizer step, 1 epoch run; 8 of 8 runs reached "
        "the ceiling)." in table
    )
    assert all("(not converged: " in c["verdict"] for c in results["finish"]["comparisons"].values())
    # another plan (seeds 1 and 2): seed 1's runs are kept, seed 0's dropped once it finishes
    assert (
        experiments.main(["locality", "--quick", "--seed", "1", "--data-dir", str(data_dir), "--out-dir", str(out)])
        == 0
    )
    again = json.loads((out / "experiments" / "locality" / "results.json").read_text())
    assert set(again["runs"]) == set(again["plan"]) and len(again["runs"]) == 8
    assert sorted({r["config"]["seed"] for r in again["runs"].values()}) == [1, 2]
    assert all(again["runs"][k] == results["runs"][k] for k in again["runs"] if k in results["runs"])


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
                                     "patience 5 under a ceiling of 30 epochs")
    assert training_words(
        other.but(schedule="plateau"),
        varied=("optimizer", "weight_decay", "batch_size", "init", "flip", "label_smoothing", "epochs"),
    ) == (
        "learning rate 1e-3 after a one-epoch warm-up, divided by 10 after every 2 epochs without a lower validation "
        "loss"
    )
    assert training_words(c.but(momentum=0.0), varied=("lr", "batch_size")) == (
        "SGD without momentum, one-cycle learning rate, L2 5e-4, random mirroring, 4 epochs")
    assert [number_words(x) for x in (5e-4, 1e-3, 0.005, 0.0, 128)] == ["5e-4", "1e-3", "0.005", "0", "128"]


def test_the_estimate_before_a_study_times_one_epoch_and_scales_it(monkeypatch):
    from fmnist.studies import engine, parallel
    seen = []

    class Timed(Study):
        name = "timed"

        def run(self, config, ctx):
            seen.append(config)
            return {"history": [{"seconds": 5.0}, {"seconds": 2.0}]}  # the first epoch warms up; the rest is scoring

    clock = iter([100.0, 108.0])  # the call took 8 s: 5 + 2 s the epochs, 1 s the scoring
    monkeypatch.setattr(engine.time, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(parallel, "cores", lambda: 2)
    todo = [(str(s), RunConfig(study="timed", name=f"a seed {s}", seed=s, epochs=60, patience=5)) for s in range(4)]
    ctx = dataclasses.make_dataclass("Ctx", ["options"])(Options())
    line = engine.estimate(Timed(), ctx, todo)
    assert seen[0]["epochs"] == 2 and seen[0]["name"] == "a seed 2 (timing)"
    # 4 runs, one job: at least 4 x (1 + 2 x 6) = 52 s; at 20 epochs 4 x (1 + 2 x 20) = 164 s
    assert line == ("timed: an epoch of a seed 2 took 2.0 s here and its scoring 1.0 s, so the 4 runs take at least "
                    "52 s with 1 job, about 2.7 min if runs stop after 20 epochs; the lines below update it as runs "
                    "finish")
    # runs that start from weights this study trains are never timed: their upstream may not exist yet
    seen.clear()
    waiting = [(k, c.but(upstream="source")) for k, c in todo]
    assert engine.estimate(Timed(), ctx, waiting) == (
        "timed: no estimate (every run left starts from weights trained in this study)") and not seen


def _channel(c, response, per_class):
    area = {"background": 0.55, "outline": 0.15, "interior": 0.30}
    return {"channel": c, "shares": {"response": response, "area": area}, "zeros": 0.5, "per_class": per_class}


def test_the_feature_map_sentences_follow_the_measurements():
    classes = ["T-shirt/top", "Trouser", "Coat", "Sandal", "Bag"]
    outline = _channel(0, {"background": 0.3, "outline": 0.45, "interior": 0.25}, [1, 4, 1, 1, 1])  # Trouser 2.5x
    even = _channel(1, {"background": 0.55, "outline": 0.15, "interior": 0.30}, [1, 1, 1, 1, 1])
    dead = _channel(2, {"background": None, "outline": None, "interior": None}, [0, 0, 0, 0, 0])
    layer = {"layer": "relu2", "side": 14, "zeros": 0.6, "channels": [outline, even, dead]}
    text = channels.layer_reading(layer, classes)
    assert text == (
        "relu2 (14x14, 60% of its values zero): of its first 3 channels, 1 favours the garment's outline; "
        "1 favours no region; 1 never responds; tied to one class (its mean response on that class at least "
        "1.5 times its mean over the classes; each channel's numbers in the table below): 1, channel 0 (Trouser)."
    )
    assert channels.channel_cells(outline, classes) == ["50%", "outline (45% on 15%)", "Trouser", "2.50x",
                                                        "not measured", "yes"]
    assert channels.channel_cells(dead, classes)[1] == "silent on every image"
    assert channels.channel_cells(even, classes)[1:] == ["none", "T-shirt/top", "1.00x", "not measured", "no"]
    layer["channels"] = [even]
    assert channels.layer_reading(layer, classes).endswith("1 favours no region; none responds 1.5 times its mean to "
                                                           "one class.")
    first = {"layer": "relu1", "side": 28, "zeros": 0.5, "channels": [even, even]}
    deep = {"layer": "relu2", "side": 14, "zeros": 0.6, "channels": [outline, outline]}
    inspected = {"row": "3. x", "seed": 0, "val_loss": 0.2, "run_val_loss": 0.2, "images": 500, "classes": classes}
    assert channels.inspection_words({**inspected, "layers": [first, deep]})[-1].startswith(
        "From relu1 to relu2 the channels tied to one class go from 0 to 2 of 2: the deeper maps are more specific")
    assert "are not more specific" in channels.inspection_words({**inspected, "layers": [deep, first]})[-1]


def test_a_class_tie_must_beat_what_sparsity_gives_with_shuffled_labels():
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(500) % 5
    sparse = torch.zeros(500)  # silent on 490 images, strong on 10 drawn regardless of class
    sparse[torch.randperm(500, generator=gen)[:10]] = 5.0
    dense = 1.0 + (labels == 0).float() + 0.1 * torch.rand(500, generator=gen)  # class 0 twice the others
    classes = ["T-shirt/top", "Trouser", "Coat", "Sandal", "Bag"]
    for responses, is_tied in ((sparse, False), (dense, True)):
        per_class = [float(responses[labels == k].mean()) for k in range(5)]
        channel = {**_channel(0, {"background": 0.3, "outline": 0.45, "interior": 0.25}, per_class),
                   "null_ratio": channels.shuffled_ratio(responses, labels, 5)}
        top, ratio = channels.class_tie(channel)
        assert channels.tied(channel) is is_tied
        if not is_tied:  # the ratio alone would have called it tied: sparsity alone makes it
            assert ratio >= channels.CLASS_TIED and channel["null_ratio"] >= ratio
        else:
            assert top == 0 and channel["null_ratio"] < 1.2 < channels.CLASS_TIED <= ratio
        text = channels.layer_reading({"layer": "relu2", "side": 14, "zeros": 0.6, "channels": [channel]}, classes)
        assert ("above the 95th percentile of that ratio with the labels shuffled" in text) is is_tied
        assert ("by more than its sparsity gives with shuffled labels" in text) is not is_tied


def test_a_run_that_starts_from_a_redone_upstream_run_is_redone(tmp_path):
    from fmnist.studies import engine
    calls = []

    class Chain(Study):
        name, spec, title = "chain", "test", "an upstream run and two others"
        ceiling = 3

        def plan(self, ctx):
            return [RunConfig(study="chain", name="up", kind="upstream", epochs=self.ceiling, seed=0),
                    RunConfig(study="chain", name="from up", upstream="up", epochs=1, seed=0),
                    RunConfig(study="chain", name="beside up", upstream="up", epochs=1, seed=0),  # starts afresh
                    RunConfig(study="chain", name="alone", epochs=1, seed=0)]

        def files(self, config):  # what a finished run needs: the upstream's weights, for the run from them
            return ["up.pth"] if config["name"] in ("up", "from up") else []

        def run(self, config, ctx):
            calls.append(config["name"])
            if config["name"] == "up":
                (ctx.folder / "up.pth").write_text("weights")
            return {"val": {"loss": 0.5, "accuracy": 0.8}, "test": {"loss": 0.5, "accuracy": 0.8},
                    "history": [{}], "best_epoch": 1}

        def rows(self, records):
            return [{} for _ in records]

    study = Chain()
    ctx = Context(Options(quick=True), {"files": None}, torch.device("cpu"), tmp_path / "chain")
    engine.run_study(study, ctx, log=lambda line: None)
    assert calls == ["up", "from up", "beside up", "alone"]
    study.ceiling = 5  # the upstream run's configuration changes: it and the run that starts from it are redone
    calls.clear()
    engine.run_study(study, ctx, log=lambda line: None)
    assert calls == ["up", "from up"]


def test_a_run_trained_with_epochs_shorter_than_the_step_rule_is_redone():
    # an epoch is at least 32 optimizer steps (assignment.STUDY_RECIPE): a record from before that
    # rule on a small training set is redone, one on 5,000 images (39 steps a pass) is kept
    from fmnist.studies.engine import short_epochs
    config = RunConfig(study="s", name="a", epochs=60, patience=5, seed=0)
    assert short_epochs({"sizes": {"train": 125}}, config)  # one step a pass, one pass an epoch
    assert not short_epochs({"sizes": {"train": 5000}}, config)
    assert not short_epochs({"sizes": {"train": 125}, "epoch_steps": 32}, config)  # trained by the rule
    assert not short_epochs({"sizes": {"train": 125}}, config.but(quick=True))  # a smoke run: one pass
    assert short_epochs({"images": 10000}, config.but(batch_size=512))  # an autoencoder's record: 19 steps
    assert not short_epochs({"diverged": "loss nan"}, config)  # nothing to tell by


def test_every_committed_study_finds_every_planned_run_in_its_results():
    # a change to how configurations are built must keep the keys of the runs already committed,
    # or the next run of the study would train everything again
    out = ROOT / "outputs" / "experiments"
    for name, study in experiments.STUDIES.items():
        results = json.loads((out / name / "results.json").read_text())
        ctx = Context(Options(), {}, torch.device("cpu"), out / name)
        planned = {run_key(as_config(c)): c["name"] for c in study.plan(ctx)}
        missing = [n for k, n in planned.items() if k not in results["runs"]]
        assert not missing, f"{name}: {len(missing)} planned runs not in its results.json ({missing[:3]})"


def test_the_class_mean_maps_frame_the_class_each_channel_is_tied_to():
    import matplotlib.colors as mcolors
    classes = ["T-shirt/top", "Trouser", "Coat", "Sandal", "Bag"]
    tied_to_coat = {**_channel(0, {"background": 0.3, "outline": 0.45, "interior": 0.25}, [1, 1, 4, 1, 1]),
                    "null_ratio": 1.2}  # Coat 2.5x its mean, above its shuffled-label 1.2x
    sparse = {**_channel(1, {"background": 0.3, "outline": 0.45, "interior": 0.25}, [1, 4, 1, 1, 1]),
              "null_ratio": 3.0}  # Trouser 2.5x, but sparsity alone gives 3.0x: not tied
    maps = [[np.full((4, 4), v[k]) for v in ([1, 1, 4, 1, 1], [1, 4, 1, 1, 1])] for k in range(5)]
    layer = {"layer": "relu2", "side": 4, "zeros": 0.5, "channels": [tied_to_coat, sparse],
             "maps": maps, "class_maps": maps}
    inspected = {"row": "3. x", "seed": 0, "images": 500, "classes": classes, "examples": [np.zeros((4, 4))] * 5,
                 "class_images": [np.zeros((4, 4))] * 5}
    example, means = channels.maps_pages(inspected, layer)
    assert (example.stem, means.stem) == ("variants_maps_relu2", "variants_classmaps_relu2")
    axes = np.asarray(means.fig.axes[:5 * 3]).reshape(5, 3)
    framed = {(i, c - 1) for i in range(5) for c in (1, 2)
              if mcolors.to_hex(axes[i, c].spines["top"].get_edgecolor()) == "#00c8ff"}
    assert framed == {(2, 0)}  # Coat's row, channel 0 only
    assert [axes[0, c].get_title() for c in (1, 2)] == ["ch. 0\n2.50x\n(1.20x)", "ch. 1\n2.50x\n(3.00x)"]
    rows = channels.channel_rows({**inspected, "layers": [layer]})
    assert rows[1] == ["relu2", "1", "50%", "outline (45% on 15%)", "Trouser", "2.50x", "3.00x", "no"]
    del layer["class_maps"]  # a record from before the class means were kept: the example page alone
    assert [p.stem for p in channels.maps_pages(inspected, layer)] == ["variants_maps_relu2"]


def test_the_settings_figure_sets_each_paired_difference_against_zero_filled_where_it_excludes_it():
    from fmnist.core import stats
    from fmnist.studies.figures import factor_figure
    base = stats.interval([85.0, 85.5, 86.0])
    bars = [("base", "base", base), ("epochs", "2 epochs", stats.interval([73.0, 72.0, 74.0])),
            ("train/test ratio", "train 50%", stats.interval([84.0, 86.5, 84.2]))]
    paired = {"2 epochs": stats.paired({0: 85.0, 1: 85.5, 2: 86.0}, {0: 73.0, 1: 72.0, 2: 74.0}),
              "train 50%": stats.paired({0: 85.0, 1: 85.5, 2: 86.0}, {0: 84.0, 1: 86.5, 2: 84.2})}
    fig = factor_figure("a title", bars, paired)
    right = fig.axes[1]
    points = [line for line in right.lines if line.get_marker() == "o"]
    means = [paired["2 epochs"]["mean"], paired["train 50%"]["mean"]]
    assert [p.get_xdata()[0] for p in points] == pytest.approx(means)
    assert stats.excludes_zero(paired["2 epochs"]) and not stats.excludes_zero(paired["train 50%"])
    assert points[0].get_markerfacecolor() != "white" and points[1].get_markerfacecolor() == "white"
    assert len(factor_figure("a title", bars).axes) == 1  # without the paired differences: one panel
