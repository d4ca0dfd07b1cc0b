"""experiments.py: study networks against hand derivations, every variant trains, resuming
after an interruption, and the quick run end to end on the synthetic data."""
import csv
import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch
from sklearn.metrics import f1_score

import experiments
import report
from fmnist.core import readback
from fmnist.core.device import to_device
from fmnist.core.layers import layer_table
from fmnist.core.metrics import confusion_matrix, macro_f1
from fmnist.core.training import make_optimizer
from fmnist.studies import groups, variants
from fmnist.studies.measure import multiply_adds
from fmnist.studies.networks import ConvDw, init_network
from fmnist.studies.study import Options, as_config
from helpers import interrupt_study


@pytest.mark.parametrize("c_in, c_out, stride, side_in, side", [(16, 32, 2, 28, 14), (64, 128, 1, 7, 7),
                                                                 (1, 8, 1, 28, 28), (32, 64, 2, 7, 4)])
def test_convdw_parameters_and_shape(c_in, c_out, stride, side_in, side):
    block = ConvDw(c_in, c_out, stride)
    depthwise, pointwise, norms = 9 * c_in, c_in * c_out, 2 * c_in + 2 * c_out  # no biases; BN scale + shift
    assert sum(p.numel() for p in block.parameters()) == depthwise + pointwise + norms
    assert block(torch.zeros(2, c_in, side_in, side_in)).shape == (2, c_out, side, side)


# Hand derivation with the schedule 16, 32/2, 64, 64/2, 128, ...:
#   conv block i->o: 9*i*o + 2*o;   ConvDw i->o: 9*i + 2*i + i*o + 2*o;   linear C->10: 10*C + 10
HAND = {(4, 0): (9 * 16 + 32) + (9 * 16 * 32 + 64) + (9 * 32 * 64 + 128) + (9 * 64 * 64 + 128) + 650,
        (1, 3): (9 * 16 + 32) + (9 * 16 + 32 + 16 * 32 + 64) + (9 * 32 + 64 + 32 * 64 + 128)
        + (9 * 64 + 128 + 64 * 64 + 128) + 650,
        (0, 1): (9 + 2 + 16 + 32) + (16 * 10 + 10),
        (1, 5): (9 * 16 + 32) + (9 * 16 + 32 + 16 * 32 + 64) + (9 * 32 + 64 + 32 * 64 + 128)
        + (9 * 64 + 128 + 64 * 64 + 128) + (9 * 64 + 128 + 64 * 128 + 256) + (9 * 128 + 256 + 128 * 128 + 256)
        + (128 * 10 + 10)}


@pytest.mark.parametrize("pair", sorted(HAND))
def test_init_network_parameters_and_shapes(pair):
    net = init_network(*pair)
    assert sum(p.numel() for p in net.parameters()) == HAND[pair]
    side = {1: 28, 2: 14, 3: 14}.get(sum(pair), 7)
    x = torch.zeros(3, 1, 28, 28)
    assert net.features(x).shape[2:] == (side, side)
    assert net(x).shape == (3, 10)


def test_flop_counter_agrees_with_the_layer_table():
    for pair in ((4, 0), (2, 2), (0, 4)):
        net = init_network(*pair)
        assert multiply_adds(net) == layer_table(net)["totals"]["total"]["multiply_adds"]


def test_macro_f1_matches_scikit_learn():
    gen = torch.Generator().manual_seed(0)
    y, pred = torch.randint(0, 10, (500,), generator=gen), torch.randint(0, 10, (500,), generator=gen)
    pred[:200] = y[:200]
    assert macro_f1(confusion_matrix(y, pred)) == pytest.approx(f1_score(y, pred, average="macro"), abs=1e-12)


def _grown(losses) -> list[dict]:
    """The variants study run to its end on made-up records: each run's validation loss is
    `losses(config)`, the same for every seed but for a small per-seed wobble."""
    ctx = dataclasses.make_dataclass("Ctx", ["options"])(Options())
    records, configs = [], variants.STUDY.plan(ctx)
    while configs:
        for c in configs:
            loss = losses(c) + c["seed"] / 1000
            records.append({"config": dict(c), "val": {"loss": loss, "accuracy": 0.9}, "history": [{}] * 12,
                            "test": {"loss": loss, "accuracy": 0.9}, "train": {"loss": 0.1, "accuracy": 0.95},
                            "best_epoch": 7, "seconds": 1.0})
        configs = variants.STUDY.extend(ctx, records)
    return records


def test_variants_are_made_iteratively_each_change_kept_only_when_it_lowers_the_validation_loss():
    def losses(c):  # Adam and dropout 0.25 help, a fifth conv layer hurts, nothing else matters
        return 0.5 - 0.1 * (c["optimizer"] == "adam") - 0.05 * (c["dropout"] == 0.25) + 0.02 * (len(c["widths"]) == 5)

    records = _grown(losses)
    steps = [s for s in variants.path(records) if "runs" in s]
    kept = [s["row"] for s in steps if s["kept"]]
    assert kept == ["0. base", "1. Adam", "9. dropout 0.25"]
    rows = [s["row"] for s in steps]
    assert "3. momentum 0.9" not in rows and "4. momentum 0.95" not in rows  # momentum does not apply to Adam
    assert len(rows) - 1 >= 9 and len(records) == 3 * len(rows)  # nine or more variants, 3 seeds each
    by = {groups.row_of(r["config"]): r["config"] for r in records}
    assert by["2. RMSprop"]["optimizer"] == "rmsprop" and by["10. dropout 0.5"]["optimizer"] == "adam"  # from the best
    assert by["14. mirroring"]["dropout"] == 0.25 and by["14. mirroring"]["flip"]
    assert all(c["patience"] == 5 and c["schedule"] == "plateau" for c in by.values())
    headline = " ".join(variants.STUDY.headline({"plan": list(range(len(records))),
                                           "runs": dict(enumerate(records))}))
    assert ("changes tried in turn, 2 kept for lowering the mean validation loss (the spec's rule); each one's paired "
            "95 % interval excludes zero (2 of 12 changes tried, where chance alone gives 0.3 on that side (p = 0.035 "
            "for 2 or more): more than chance): 1. Adam (0.5010 -> 0.4010") in headline


def test_a_kept_change_within_the_seeds_spread_is_told_apart_from_one_beyond_it():
    def losses(c):  # Adam helps on every seed; dropout 0.25 lowers the mean, but not on every seed
        noise = (0.03, -0.04, -0.05)[c["seed"]] if c["dropout"] == 0.25 else 0.0
        return 0.5 - 0.1 * (c["optimizer"] == "adam") + noise

    records = _grown(losses)
    headline = " ".join(variants.STUDY.headline({"plan": list(range(len(records))), "runs": dict(enumerate(records))}))
    assert "only 1. Adam's paired 95 % interval excludes zero (1 of 12 changes tried" in headline
    assert "the other 1 were kept on the mean alone (their intervals include zero: not shown to help)" in headline
    assert "no difference detected between 1. Adam and 9. dropout 0.25" in headline


def test_every_variant_builds_for_the_five_classes_and_trains_one_step():
    records = _grown(lambda c: 0.5 - 0.01 * len(c["name"]))  # every change kept: every setting is built
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 5
    for config in [r["config"] for r in records if r["config"]["seed"] == 0]:
        model = variants.build(config)
        before = [p.detach().clone() for p in model.parameters()]
        optimizer = make_optimizer(model, as_config(config).settings())
        out = model(to_device(x, torch.device("cpu")))
        loss = torch.nn.functional.cross_entropy(out, y)
        loss.backward()
        optimizer.step()
        assert out.shape == (8, 5) and torch.isfinite(loss), config["name"]
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), config["name"]


@pytest.mark.slow
def test_redraw_rebuilds_the_tables_figures_and_pdf_from_results_json_and_changes_no_result(quick_locality, tmp_path,
                                                                                            capsys):
    out = Path(shutil.copytree(quick_locality, tmp_path / "out"))
    folder = out / "experiments" / "locality"
    before = (folder / "results.json").read_bytes()
    drawn = sorted(p.name for p in folder.glob("*.png"))
    for path in [folder / "table.md", folder / "table.csv", out / "experiments.pdf", *folder.glob("*.png")]:
        path.unlink()
    assert experiments.main(["locality", "--redraw", "--out-dir", str(out)]) == 0  # one study: the same code as all
    assert (folder / "results.json").read_bytes() == before and "redrew" in capsys.readouterr().out
    assert (folder / "table.md").is_file() and (folder / "table.csv").is_file()
    assert sorted(p.name for p in folder.glob("*.png")) == drawn and drawn
    assert (out / "experiments.pdf").read_bytes()[:4] == b"%PDF"


def _quick(study, data_dir, out, *more):
    return experiments.main([study, "--quick", "--data-dir", str(data_dir), "--out-dir", str(out), *more])


@pytest.mark.slow
def test_quick_all_end_to_end_after_an_interrupted_study(data_dir, tmp_path, monkeypatch, capsys):
    # Ctrl-C during the second run of `variants`: its first run is saved, nothing else
    study = interrupt_study(monkeypatch, "variants", after=1)
    out = tmp_path / "out"
    assert _quick("variants", data_dir, out) == 130
    first = json.loads((out / "experiments" / "variants" / "results.json").read_text())
    assert len(first["runs"]) == 1 and first["finished"] is None
    assert "kept in its study's results.json" in capsys.readouterr().err

    # `all` goes on: the finished run is kept as it was, every study is written
    monkeypatch.setitem(experiments.STUDIES, "variants", study)
    assert _quick("all", data_dir, out) == 0
    text = capsys.readouterr().out
    assert (
        "variants: 2 runs; 1 finished earlier are kept (0. base seed 0)" in text
    )  # the base's 2 seeds, then each change
    assert "experiments.pdf (reference, mobilenet, settings, variants, pretrain, tuning, transfer, locality)" in text
    assert (out / "experiments.pdf").stat().st_size > 10_000
    for name, study in experiments.STUDIES.items():
        folder = out / "experiments" / name
        results = json.loads((folder / "results.json").read_text())
        assert results["finished"] and len(results["plan"]) == len(results["runs"])
        if name == "variants":
            key = next(iter(first["runs"]))
            assert results["runs"][key] == first["runs"][key]  # not redone
            assert len(results["plan"]) == 2 * (1 + variants.QUICK_CANDIDATES)  # the base, then 2 changes in turn
            assert all(len(r["test"]["confusion"]) == 5 for r in results["runs"].values())  # Fashion-MNIST-1
        rows = list(csv.DictReader((folder / "table.csv").open()))
        records = [results["runs"][k] for k in results["plan"]]
        shown = [r for r in records if r["config"].get("kind", "sweep") == "sweep"]  # not the upstream networks
        assert len(rows) == len(shown) > 0
        for row, record in zip(rows, shown):  # the table is the results, not a copy made elsewhere
            assert row[next(iter(row))].rstrip(" *") == record["config"]["name"]
            if "diverged" not in record:
                assert float(row["val acc %"]) == pytest.approx(100 * record["val"]["accuracy"], abs=1e-4)
                assert sum(map(sum, record["test"]["confusion"])) == record["sizes"]["test"]
        measured = [r for r in records if "test" in r and "val" in r]
        rows_by_setting = len({r["config"].get("row", r["config"]["name"]) for r in measured})
        beside = sum(len(rows_) + 2 for _title, _columns, rows_, _notes in study.tables(results))  # sweeps' verdicts
        assert (name in ("pretrain", "transfer")) == (beside > 0)
        assert (folder / "table.md").read_text().count("\n|") == len(rows) + 1 + rows_by_setting + 2 + beside
        assert len(list(folder.glob("*.png"))) == len(study.pages(results))

    # report.py reads what the studies wrote: spec 003 complete; 000 waits for analyze.py (spec 004's report,
    # the same code over more items, is typeset from a quick run by .ci/run and checked there)
    assert report.main(["003", "--out-dir", str(out)]) == 0 and report.main(["000", "--out-dir", str(out)]) == 0
    said = capsys.readouterr().out
    made = "pdf" if shutil.which("pdflatex") else "tex"  # without pdflatex, the source alone
    assert f"report_003.{made}: 10 of 10 items answered" in said
    assert f"report_000.{made}: 9 of 10 items answered; waiting for python analyze.py" in said
    if made == "pdf":  # typeset: A4, and every page on the standard
        assert all(readback.check_pdf(out / f"report_{spec}.pdf") == [] for spec in ("000", "003"))


def test_bad_study_name_is_one_line_with_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        experiments.main(["nonsense"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "mobilenet" in err and "variants" in err and "all" in err


def test_missing_data_gets_the_same_message_as_fashionmnist(tmp_path, capsys):
    assert experiments.main(["variants", "--quick", "--data-dir", str(tmp_path), "--out-dir", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("experiments.py: error: --data-dir=") and "missing" in err and len(err.splitlines()) == 1
