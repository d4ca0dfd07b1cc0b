"""report.py: every item of each spec once and in the spec's order, and answers that follow
the numbers (made-up measurements both ways)."""
import json
import re
from pathlib import Path

import numpy as np
import pytest

from fmnist.core import stats, words
from fmnist.reports import (
    batch_norm,
    build,
    spec000,
    spec000_seeing,
    spec003,
    spec003_figures,
    spec004,
    spec004_base,
    spec004_variants,
    submission,
    sweeps,
)

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def _spec(prefix: str) -> str:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not found:
        pytest.skip(f"no spec {prefix} beside the checkout ({SEEDS})")
    return found[0].read_text()


def test_every_item_of_spec_004_appears_once_in_its_order():
    text = _spec("004")
    body = text[text.index("3.1 Convolutional Neural Network"):]
    in_spec = list(dict.fromkeys(re.findall(r"^(3\.\d\.\d) ", body, flags=re.M)))
    assert [i.number for i in spec004.ITEMS] == in_spec and len(in_spec) == 22


def test_spec_004_items_quote_the_spec_word_for_word():
    text = _spec("004")
    body = text[text.index("3.1 Convolutional Neural Network"):]
    headings = dict(reversed(re.findall(r"^(3\.\d\.\d) (.+)$", body, flags=re.M)))  # each item's first heading
    assert {i.number: i.question for i in spec004.ITEMS} == {k: v.strip() for k, v in headings.items()}


def test_spec_003_items_carry_the_report_marks_in_order():
    text = _spec("003")
    marks = text[text.index("<b>Report</b>"):]
    points = [i.points for i in spec003.ITEMS if i.points]
    assert sum(float(p) for p in points) == 40.0  # the report's 40 %
    # each marked item, in the spec's order, by a phrase of its words
    phrases = ["Compare results of simple convolution", "different conv block", "Confusion matrices, Recall",
               "correct predictions and wrong", "learned filters", "do not use MobileNet", "what you learned",
               "changing loss functions"]
    assert [marks.index(p) for p in phrases] == sorted(marks.index(p) for p in phrases)
    questions = [i.question for i in spec003.ITEMS if i.points]
    assert all(p.lower()[:12] in q.lower() for p, q in zip(phrases, questions))


def test_spec_000_items_cover_every_bullet_of_its_report_section():
    text = _spec("000")
    section = text[text.index("1.3 Report"):text.index("1.4 Submission")]
    bullets = [line for line in section.splitlines() if line.strip().startswith("- ")]
    assert len(bullets) == 11
    keys = ["Configuration and training details", "learning curve", "performance on the test data",
            "parameter setting", "dimensions of the input", "how many parameters", "how many", "batch normalization",
            "64 layer 1 filters", "guided back propagation", "fool"]
    assert all(k.lower() in b.lower() for k, b in zip(keys, bullets))
    numbers = [i.number for i in spec000.ITEMS]
    assert numbers == [f"1.3.{k}" for k in range(1, 11)]  # 1.3.1 holds the first and the fourth bullet
    covered = " ".join(i.question.lower() for i in spec000.ITEMS)
    assert all(k.lower() in covered for k in keys)


def _record(row, seed, val_loss, test_loss, **config):
    return {"config": {"name": f"{row} seed {seed}", "row": row, "seed": seed, "epochs": 4, "network": "variant",
                       **config},
            "val": {"loss": val_loss, "accuracy": 0.9}, "test": {"loss": test_loss, "accuracy": 0.9},
            "history": [{}] * 4, "best_epoch": 4, "seconds": 1.0}


def _results(records):
    keys = [f"k{i}" for i in range(len(records))]
    return {"plan": keys, "runs": dict(zip(keys, records)), "finished": "yes"}


def _sources(**studies):
    return build.Sources(Path("."), studies={k: _results(v) for k, v in studies.items()})


@pytest.mark.parametrize("same", [True, False])
def test_the_lowest_test_loss_answer_follows_the_numbers(same):
    records = [_record("A", s, 0.30, 0.31 + s / 1000) for s in range(3)]
    records += [_record("B", s, 0.32, (0.33 if same else 0.29) + s / 1000) for s in range(3)]
    answer = spec004_variants.lowest_test_loss(_sources(variants=records))
    if same:
        assert answer.startswith("Yes: A has both the lowest mean validation loss")
        # each seed's test loss 0.02 below B's: an interval of zero width, so lowest beyond the seeds' spread
        assert "Its test loss against the next lowest, B's (0.3310), paired by seed: A ahead of B by 0.0200" in answer
        assert "not by more than the seeds vary" not in answer
    else:
        assert answer.startswith("No: the lowest mean validation loss is A's") and "B ahead of A by 0.02" in answer
        assert "beyond the seeds' spread" in answer


def test_the_mobilenet_target_answer_follows_the_numbers():
    def records(acc):
        return [{**_record(f"conv 1 + mobile {m}", s, 0.3, 0.3, conv_blocks=1, mobilenet_blocks=m),
                 "test": {"accuracy": acc + s / 1000, "loss": 0.3}} for m in (3, 5) for s in range(3)]
    assert spec003.task(_sources(mobilenet=records(0.85))).startswith("Yes: every network with MobileNet blocks")
    assert spec003.task(_sources(mobilenet=records(0.55))).startswith("No: not every network")


@pytest.mark.parametrize("cnn_zero", [30, 55])
def test_the_fooling_answer_names_the_network_that_needs_fewer_pixels(cnn_zero):
    def curve(zero):
        return [max(0.0, 0.9 - k / zero * 0.9) for k in range(61)]
    analysis = {"fooling": {"counts": [0, 250], "ffn": {"greedy_accuracy": curve(40), "random_accuracy": [0.9, 0.5]},
                            "cnn": {"greedy_accuracy": curve(cnn_zero), "random_accuracy": [0.9, 0.8]}}}
    answer = spec000_seeing.fooling(build.Sources(Path("."), analysis=analysis))
    fewer = "CNN" if cnn_zero < 40 else "FFN"
    # a straight fall: half the right images are wrong by zero / 2 pixels, 90 % by 0.9 zero
    assert f"the greedy attack turns half the {fewer}'s right images with fewer pixels" in answer
    assert "random pixels" + (" by contrast" if fewer == "CNN" else "") + " hurt the FFN more (50.0% left" in answer
    assert "CNN: greedy attack, 90.0% right before" in answer and f"the last falls at {cnn_zero} pixels" in answer
    cnn_line = answer.split("\n")[1]
    assert any(f"half the right ones are wrong by {k} pixels" in cnn_line for k in (cnn_zero // 2, cnn_zero // 2 + 1))


def test_the_confusion_hypothesis_follows_the_pair_confused():
    def sources(i, j):
        c = np.eye(5, dtype=int) * 90
        c[i, j] = 10
        run = _record("random 100%", 0, 0.1, 0.1, kind="sweep", start="random", fraction=1.0)
        run["test"]["confusion"] = c.tolist()
        return _sources(transfer=[run])
    garments = spec004_base.confused(sources(0, 2))  # T-shirt/top taken for Coat: both upper-body garments
    assert "- T-shirt/top and Coat: 10 errors, 100 % of all (10 T-shirt/top taken for Coat, 0 the other way)" \
        in garments
    assert "both are upper-body garments" in garments and "The 1 pairs" not in garments
    unlike = spec004_base.confused(sources(3, 4))  # Sandal taken for Bag
    assert "Sandal is footwear and Bag a bag: not alike in kind" in unlike


def test_the_pairs_confused_most_are_counted_both_ways():
    c = np.eye(5, dtype=int) * 50
    c[0, 2], c[2, 0] = 3, 6   # 9 errors: Coat taken for T-shirt/top more often than the other way
    c[1, 4], c[4, 1] = 5, 2   # 7
    c[3, 4] = 8               # 8, one way only
    c[1, 3] = 1               # 1: the fourth pair, not read
    pairs = spec004_base.confused_pairs(c, spec004_base.HALF1_NAMES)
    assert [(p["a"], p["b"], p["errors"], p["a_as_b"], p["b_as_a"]) for p in pairs] == [
        ("Coat", "T-shirt/top", 9, 6, 3), ("Sandal", "Bag", 8, 8, 0), ("Trouser", "Bag", 7, 5, 2)]
    assert spec004_base.confused_pairs(np.eye(5, dtype=int), spec004_base.HALF1_NAMES) == []


def test_filter_patterns_count_by_hand():
    blob = np.ones((3, 3))
    vertical = np.array([[-1, 0, 1]] * 3, float)
    horizontal = vertical.T
    p = spec000_seeing.filter_patterns(np.stack([blob, vertical, vertical, horizontal]))
    assert (p["blob"], p["edge"], p["vertical"], p["horizontal"]) == (1, 3, 2, 1)


def test_items_waiting_for_a_study_name_its_command(tmp_path):
    from fmnist.reports import latex
    src = build.Sources(tmp_path)
    source = latex.write(tmp_path / "r.tex", "003", "Spec 003", spec003.ITEMS, src).read_text()
    assert all(build.command(n) == "python experiments.py mobilenet" for n in spec003.ITEMS[0].missing(src))
    assert source.count("not yet: run python experiments.py mobilenet first") == len(spec003.ITEMS) - sum(
        "study:settings" in i.needs and "study:mobilenet" not in i.needs for i in spec003.ITEMS)
    assert "\\subsection*{Item" not in source  # no item is answered yet


def test_neighbour_purity_matches_a_brute_force_count():
    from fmnist.core.metrics import neighbour_purity
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    points = rng.normal(size=(60, 2)) + labels[:, None] * [1.5, 0]
    got = neighbour_purity(points, labels, k=5, names=["a", "b", "c"])
    d = ((points[:, None] - points[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    near = labels[np.argsort(d, axis=1)[:, :5]]
    for c, name in enumerate("abc"):
        assert got[name]["purity"] == pytest.approx((near[labels == c] == c).mean())
        assert got[name]["chance"] == pytest.approx(19 / 59)
    assert got["b"]["mixed_with"] in ("a", "c") and got["a"]["mixed_with"] == "b"  # a sits next to b, far from c


def test_tap_correlation_tells_smooth_from_striped_from_random_kernels():
    from fmnist.core.metrics import random_tap_correlation, tap_correlation
    rng = np.random.default_rng(1)
    ramps = np.stack([a * np.add.outer(np.arange(3), np.arange(3)) + b for a, b in rng.normal(size=(64, 2))])
    checker = np.stack([a * (-1.0) ** np.add.outer(np.arange(3), np.arange(3)) for a in rng.normal(size=64)])
    assert tap_correlation(ramps) > 0.5 and tap_correlation(checker) == pytest.approx(-1.0)
    low, high = random_tap_correlation(64)
    assert low < 0 < high and high - low < 0.3
    assert "smoother than random kernels" in build.kernel_words(ramps)
    assert "fine stripes and checkerboards" in build.kernel_words(checker)
    assert "no more spatial structure than random" in build.kernel_words(rng.normal(size=(64, 3, 3)))
    centred = np.zeros((64, 3, 3))
    centred[:, 1, 1] = 1
    assert "100 % of them have their largest tap at the centre" in build.kernel_words(centred + 0.01 * checker)


def test_pointwise_words_tell_a_few_inputs_from_an_even_mix():
    rng = np.random.default_rng(1)
    few = np.eye(32) * 5 + rng.normal(scale=0.01, size=(32, 32))  # each output channel copies one input
    assert "leans on a few input channels more than random" in build.pointwise_words(few)
    even = np.ones((32, 32)) + rng.normal(scale=0.01, size=(32, 32))
    assert "more evenly over the input channels than random" in build.pointwise_words(even)
    assert "about as evenly as random weights" in build.pointwise_words(rng.normal(size=(32, 32)))
    assert build.row_concentration(np.eye(4)) == 1.0 and build.row_concentration(np.ones((2, 4))) == 0.25


def test_tsne_words_name_the_classes_kept_apart_and_mixed():
    rng = np.random.default_rng(2)
    labels = np.repeat(np.arange(10), 30)
    centres = rng.normal(size=(10, 2)) * 50
    centres[6] = centres[0]  # Shirt sits on T-shirt/top
    points = centres[labels] + rng.normal(size=(300, 2))
    text = words.tsne_words("net", {"points": points.tolist(), "labels": labels.tolist(), "layer": "pooled features"})
    assert "chance 10 %" in text
    mixed = text.split("mixed most: ")[1]
    assert {mixed.split(" ")[0], mixed.split("; ")[1].split(" ")[0]} == {"T-shirt/top", "Shirt"}
    assert "its neighbours most often Shirt" in text and "its neighbours most often T-shirt/top" in text


def _mobilenet_sources(mobile_acc: float, block_time: float, wide: bool, settings_gain: float = 0.0):
    records = []
    rows = {(4, 0): (61050, 6.4e6, 2.0, 0.86), (1, 3): (9034, 0.9e6, 1.2, mobile_acc), (0, 4): (8917, 0.8e6, 1.5, 0.86)}
    for (c, m), (params, macs, epoch_s, acc) in rows.items():
        for s in range(3):
            spread = (0.05 if s == 1 else -0.05) * (s > 0) if wide and (c, m) == (0, 4) else 0.0
            confusion = np.eye(10, dtype=int) * 100
            confusion[6, 6], confusion[6, 0] = 50, 50  # Shirt: the lowest recall
            r = _record(f"conv {c} + mobile {m}", s, 0.3, 0.3, conv_blocks=c, mobilenet_blocks=m)
            r.update(parameters=params, multiply_adds=macs, seconds_per_epoch=epoch_s,
                     test={"accuracy": acc + s / 1000 + spread, "loss": 0.3, "confusion": confusion.tolist()})
            records.append(r)
    src = _sources(mobilenet=records)
    src.studies["mobilenet"]["finish"] = {"cost_ratios": [{"flops": 0.13, "time": block_time, "theory": 0.13}]}
    if settings_gain is not None:
        settings = [
            {
                **_record(row, s, 0.3, 0.3, factor=factor),
                "test": {
                    "accuracy": 0.85 + (gain if row != "base" else 0) + s / 1000 + (s == 2) * 0.0005 * (row != "base"),
                    "loss": 0.3,
                },
            }
            for row, factor, gain in (
                ("base", "base", 0),
                ("batch 32", "batch size", settings_gain),
                ("lr 0.5", "learning rate", 0.0),
            )
            for s in range(3)
        ]
        src.studies["settings"] = _results(settings)
    return src


def test_the_mobilenet_conclusion_follows_the_numbers_both_ways():
    cheap = spec003.conclusion(_mobilenet_sources(0.86, 0.6, wide=True, settings_gain=0.02))
    assert ("conv 1 + mobile 3, 0.14 times the multiply-adds and 0.15 times the parameters, at no accuracy cost that 3 "
            "seeds can detect (+0.00 points, 95 % CI +0.00 to +0.00)") in cheap
    assert "so the saving in time is smaller than the FLOP count promises" in cheap
    assert "Shirt is the hardest class (the lowest recall) for 3 of the 3 networks, whatever their blocks" in cheap
    assert "conv 0 + mobile 4's seeds disagree most" in cheap
    assert (
        "only batch 32 (+2.02 points) changed test accuracy detectably against the base; the other 1 did not" in cheap
    )
    costly = spec003.conclusion(_mobilenet_sources(0.80, 0.1, wide=False, settings_gain=0.0))
    assert "at a cost of 6.00 points of test accuracy" in costly
    assert "so the saving in time is larger than the FLOP count promises" in costly
    assert "No network beat the plain one on mean test accuracy" in costly and "disagree most" not in costly
    assert "none of the 2 changes moved test accuracy detectably" in costly


def test_a_network_summary_line_is_read_off_the_module():
    from torch import nn

    from fmnist.core.layers import summary_line
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Conv2d(4, 4, 3, groups=4), nn.Conv2d(4, 6, 1),
                        nn.ConvTranspose2d(6, 2, 2), nn.Flatten(), nn.Linear(8, 5), nn.Linear(5, 3))
    params = sum(p.numel() for p in net.parameters())  # by hand: 40 + 40 + 30 + 50 + 45 + 18 = 223
    assert params == 223
    assert summary_line(net) == "conv 4, dw 4, 6 (1x1), up 2 (2x2) (3x3 unless marked); FC 5, 3; 223 parameters"


def test_the_set_up_names_each_study_its_budget_and_machine_or_the_command():
    records = [{**_record("A", s, 0.3, 0.3, patience=5), "sizes": {"train": 1500, "val": 1000, "test": 10000},
                "history": [{}] * (12 + s), "best_epoch": 7 + s, "seconds": 60.0} for s in range(3)]
    records[0]["config"]["epochs"] = records[1]["config"]["epochs"] = records[2]["config"]["epochs"] = 60
    src = _sources(reference=records)
    src.studies["reference"].update(budget="default", provenance={"device": "cpu", "cpu": "Some CPU", "threads": 2,
                                                                  "precision": "fp32"})
    lines = build.study_lines(src, "reference")
    assert lines[0] == ("- reference (python experiments.py reference): 3 runs, each scored on 1,000 validation and "
                        "10,000 test images.")
    assert lines[1].strip().startswith("Budget default: 1,500 training images per run; seeds 0, 1, 2; early stopping")
    assert lines[2] == "  It ran on cpu (Some CPU, 2 threads, fp32): 3.0 min of runs, finished yes."
    assert build.study_lines(build.Sources(Path(".")), "mobilenet") == [
        "- mobilenet: not run yet (python experiments.py mobilenet)."]
    setup = spec000.setup(src)
    assert any("1,500 training images a run" in line for line in setup)
    assert any(line.startswith("- the spec's reference network") and "4,379,934 parameters" in line for line in setup)


def test_a_count_of_intervals_is_set_against_what_chance_gives_both_ways():
    assert "no more than chance, so weak evidence" in stats.chance_words(1, 20, "fractions")
    assert stats.chance_words(0, 20, "fractions") == "none of 20 fractions, where chance alone gives 1"
    assert "(p = 0.26 for 2 or more): no more" in stats.chance_words(2, 20)  # binom(20, 0.05), by scipy
    assert stats.chance_words(6, 20, "fractions") == (
        "6 of 20 fractions, where chance alone gives 1 (p = 0.00033 for 6 or more): more than chance")
    one = stats.chance(1, 14, one_side=True)  # one change in 14 lowers the loss by its interval: 0.35 expected
    assert one["expected"] == pytest.approx(0.35) and one["p"] == pytest.approx(1 - 0.975 ** 14)
    assert not one["beyond"] and stats.chance(0, 14)["p"] == 1.0
    from fmnist.studies.variants import kept_words
    assert "1 of 14 changes tried, where chance alone gives 0.35 on that side" in kept_words(3, ["RMSprop"], 14)
    assert "no more than chance" in kept_words(3, ["RMSprop"], 14)
    assert ": more than chance" in kept_words(4, ["a", "b", "c", "d"], 14)


def test_curves_are_read_for_overfitting_both_ways():
    over = [{"val_loss": v, "train_loss": t} for v, t in zip([1.0, 0.5, 0.4, 0.5, 0.6], [1.2, 0.6, 0.4, 0.3, 0.2])]
    flat = [{"val_loss": v, "train_loss": t} for v, t in zip([1.0, 0.5, 0.4, 0.41, 0.405], [1.2, 0.6, 0.4, 0.35, 0.3])]
    assert "overfits after epoch 3" in build.curve_words(over, 3) and "+50 %" in build.curve_words(over, 3)
    assert "no clear overfitting" in build.curve_words(flat, 3)
    gap = [{"val_loss": v, "train_loss": t} for v, t in zip([1.0, 0.5, 0.46, 0.47, 0.46], [1.2, 0.3, 0.2, 0.1, 0.05])]
    words = build.curve_words(gap, 3)  # the validation loss flat at 2.3 times a training loss still falling
    assert "2.3 times the training loss" in words and "overfitting as a gap" in words
    assert "no clear overfitting" not in words and "overfits after" not in words
    small = [{"val_loss": v / 10, "train_loss": t / 10} for v, t in zip([1.0, 0.5, 0.46, 0.47, 0.46],
                                                                       [1.2, 0.3, 0.2, 0.1, 0.05])]
    assert "no clear overfitting" in build.curve_words(small, 3)  # 2.3 times, but 0.026 apart: no gap worth the name
    records = [{"config": {"study": "v", "name": n, "seed": 0}, "history": h, "best_epoch": 3}
               for n, h in (("a", over), ("b", flat))]
    words = spec004_variants.variants_curve_words(records)
    assert "rose most past its lowest point in a (+50 % by its last epoch)" in words and "b (" not in words


def test_a_percentage_interval_is_clipped_to_0_100_and_says_so():
    from fmnist.core.words import ci

    assert (
        ci({"mean": 99.8, "low": 99.3, "high": 100.28, "n": 3})
        == "99.80% (95 % CI 99.30 to 100.00, clipped to 0-100, 3 seeds)"
    )
    assert ci({"mean": 85.0, "low": 84.0, "high": 86.0, "n": 3}) == "85.00% (95 % CI 84.00 to 86.00, 3 seeds)"
    assert ci({"mean": 0.5, "low": 0.4, "high": 120.0, "n": 3}, 4, "") == "0.5000 (95 % CI 0.4000 to 120.0000, 3 seeds)"


@pytest.mark.slow
def test_the_conv1_filter_reading_sets_the_counts_against_random_kernels_both_ways():
    rng = np.random.default_rng(5)

    def sources(kernels):
        run = _record("Xavier, lr 0.05", 0, 0.3, 0.3)
        run["extras"] = {"first_filters": kernels.tolist()}
        return _sources(reference=[run])
    smooth = np.abs(rng.normal(size=(64, 1, 1))) * np.ones((64, 3, 3)) + 0.05 * rng.normal(size=(64, 3, 3))
    words = spec000_seeing.filters(sources(smooth))
    assert "so 64 is more than random kernels give" in words and "they are smoother than random kernels" in words
    noise = spec000_seeing.filters(sources(rng.normal(size=(64, 3, 3))))
    assert "is as many as random kernels give" in noise and "no more spatial structure than random kernels" in noise
    assert "every direction's count is within what random kernels give it, so no direction is preferred" in noise
    vertical = np.tile(np.array([[-1.0, 0.0, 1.0]] * 3), (64, 1, 1)) + 0.1 * rng.normal(size=(64, 3, 3))
    planted = spec000_seeing.filters(sources(vertical))  # every edge-like filter vertical: far beyond chance
    assert "outside their range: vertical (" in planted and "no direction is preferred" not in planted


@pytest.mark.parametrize("collapsed", [False, True])
def test_the_batch_norm_answer_counts_paired_seeds_and_names_a_collapse(collapsed):
    def run(row, seed, acc):
        return {**_record(row, seed, 0.5, 0.5), "test": {"accuracy": acc / 100, "loss": 0.5}}
    without = [81.0, 80.5, 20.1 if collapsed else 81.3]
    records = [run("He, lr 0.05", s, a) for s, a in enumerate((84.0, 84.2, 84.8))]
    records += [run("He, lr 0.05, no batch norm", s, a) for s, a in enumerate(without)]
    answer = batch_norm.batch_norm(_sources(reference=records))
    assert "Seed by seed, batch norm is ahead in 3 of 3 pairs on test accuracy." in answer
    if collapsed:
        assert ("Instability without batch norm: seed 2 (20.10%) collapsed, against 81.00% for its best seed" in answer
                and "no difference detected" in answer)
        assert "The two measures disagree" not in answer  # neither tells them apart
    else:
        assert "Instability" not in answer and "with ahead of without by" in answer
        assert "The two measures disagree: the test accuracy tells the rows apart and the validation loss does " \
            "not." in answer  # the losses are equal by construction


@pytest.mark.parametrize("rho, words", [(0.08, "only just smoother than random kernels, close to chance"),
                                        (0.5, "smoother than random kernels, each varying slowly"),
                                        (-0.09, "differ only just more than in random kernels")])
def test_kernels_just_past_chance_are_not_read_as_blobs(monkeypatch, rho, words):
    monkeypatch.setattr(build, "tap_correlation", lambda k: rho)
    monkeypatch.setattr(build, "random_tap_correlation", lambda n: (-0.08, 0.07))
    assert words in build.kernel_words(np.zeros((64, 3, 3)))


def test_an_unsteady_stretch_of_validation_accuracy_is_named_both_ways():
    assert spec003_figures.dip_words([30, 60, 41, 70, 80]) == (
        " Validation accuracy falls from 60% (epoch 2) to 41% in epoch 3 before it recovers: an unsteady stretch that "
        "early stopping's patience rides out.")
    assert spec003_figures.dip_words([30, 60, 55, 70, 80]) == ""


@pytest.mark.parametrize("per_class, words", [("150", "run.sh --train_per_class 150: 1,500 training images"),
                                              ("None", "run.sh: every training image")])
def test_the_committed_submission_is_described_by_the_run_that_wrote_it(tmp_path, per_class, words):
    import json
    (tmp_path / "spec000" / "model").mkdir(parents=True)
    (tmp_path / "spec000" / "model" / "run.json").write_text(json.dumps({
        "flags": {"train_per_class": per_class}, "best_epoch": 18, "epochs": 23,
        "val": {"accuracy": 0.8588}, "test": {"accuracy": 0.8501}}))
    line = " ".join(submission.submission_lines(build.Sources(tmp_path)))
    assert words in line and "best epoch 18 of 23" in line and "test accuracy 85.01%" in line
    assert submission.submission_lines(build.Sources(tmp_path / "nowhere")) == []


def test_a_sweep_row_at_the_ceiling_is_named_with_its_seeds_and_a_converged_sweep_says_nothing():
    def run(row, seed, best):
        r = _record(row, seed, 0.3, 0.3, kind="sweep", patience=5, epochs=60)
        r.update(history=[{}] * (60 if best > 55 else best + 5), best_epoch=best)
        return r
    stopped = [run("pretrained 5%", s, 20) for s in range(3)]
    assert sweeps.ceiling_words(stopped) == []
    ceiling = [run("pretrained 5%", 0, 60), run("pretrained 5%", 1, 58), run("pretrained 5%", 2, 20)]
    assert sweeps.ceiling_words(ceiling) == [
        "Not converged: pretrained 5% (2 of 3 seeds) reached the 60-epoch ceiling before early stopping, so the "
        "verdicts at those fractions compare unfinished training."]



def test_a_damaged_submission_record_is_one_line_naming_it(tmp_path):
    from fmnist.core.storage import UserError
    (tmp_path / "spec000" / "model").mkdir(parents=True)
    path = tmp_path / "spec000" / "model" / "run.json"
    for text in ("{not json", '{"flags": {}, "best_epoch": 3}'):
        path.write_text(text)
        with pytest.raises(UserError, match="run.json.*run bash outputs/spec000/run.sh again"):
            submission.submission_lines(build.Sources(tmp_path))


def test_the_batch_rule_is_said_only_when_run_sh_changes_the_batch():
    assert spec000.batch_rule(125) == "" and spec000.batch_rule(1) == ""
    assert spec000.batch_rule(128) == (" Its batch of 128 is not one train.py accepts (the spec allows 1 or a multiple "
                                       "of 5), so run.sh uses 130, the nearest it allows.")


@pytest.mark.parametrize("first_val, logarithmic", [(16.0, True), (1.0, False)])
def test_the_learning_curve_answer_explains_a_log_axis_only_when_it_has_one(first_val, logarithmic):
    history = [
        {"val_loss": v, "train_loss": t} for v, t in zip([first_val, 3.4, 0.6, 0.46, 0.47], [1.2, 0.8, 0.5, 0.3, 0.3])
    ]
    run = {**_record("Xavier, lr 0.05", 0, 0.46, 0.5), "history": history, "best_epoch": 4,
           "iterations": list(np.linspace(1.5, 0.3, 60))}
    answer = spec000.curve(_sources(reference=[run]))
    assert answer.startswith("60 iterations (5 epochs of 12 batches): the validation loss falls from")
    assert ("The y axis is logarithmic because the plotted losses span about 53-fold (training 0.300-1.50, "
            "validation 0.46-16.00): over epochs 1-2" in answer) == logarithmic


def test_the_sweep_curves_are_read_per_start():
    def run(start, fraction, best, last):
        r = _record(f"{start} {fraction}%", 0, 0.2, 0.2, kind="sweep", start=start)
        r.update(history=[{"val_loss": 0.2, "train_loss": 0.1}] * (best - 1) + [{"val_loss": 0.1, "train_loss": 0.1}]
                 + [{"val_loss": last, "train_loss": 0.05}] * 3, best_epoch=best)
        return r
    records = [run("random", 5, 10, 0.2), run("random", 10, 20, 0.101), run("pretrained", 5, 4, 0.1)]
    words = sweeps.sweep_curve_words(records, ("random", "pretrained"))
    assert words.startswith("Read from the curves of all 2 fractions (each one's first seed; experiments.pdf")
    assert "the random start reaches its lowest validation loss at a median epoch of 15 (10-20)" in words
    assert (
        "above that lowest point at 1 of 2 fractions; the pretrained start" in words and "at 0 of 1 fractions" in words
    )


def test_batch_norms_curves_are_read_both_ways():
    def runs(train, val, best):  # three seeds of one made-up curve: losses per epoch, the best epoch
        history = [{"train_loss": t, "val_loss": v} for t, v in zip(train, val)]
        return [{"config": {"seed": s}, "history": history, "best_epoch": best} for s in range(3)]
    fast_tight = runs([1.0, 0.6, 0.4, 0.35, 0.3], [1.0, 0.7, 0.5, 0.45, 0.5], 4)   # gap +0.10 at epoch 4
    slow_loose = runs([2.0, 1.5, 1.2, 0.5, 0.2], [2.0, 1.6, 1.3, 0.9, 0.8], 5)    # gap +0.60 at epoch 5
    words = batch_norm.batch_norm_curves(fast_tight, slow_loose)
    assert "epoch 4.0 with batch norm and 5.0 without" in words and "+0.100 from the training loss with it" in words
    assert "0.400 against 1.200 after epoch 3" in words and "The smaller gap fits a regularising effect" in words
    assert "By one epoch for all, epoch 5" in words and "with ahead of without by 0.3500, lower is better" in words
    words = batch_norm.batch_norm_curves(slow_loose, fast_tight)
    assert "falls faster" not in words and "do not pin down" in words and "no regularising effect" in words
    assert "without ahead of with by 0.3500, lower is better" in words  # by epoch 5: 0.80 with, 0.45 without


def test_the_kaggle_file_to_upload_is_the_network_best_on_validation_both_ways(tmp_path):
    (tmp_path / "predictions_cnn.csv").write_text("id,label\n0,9\n")
    metrics = {"sizes": {"train": 55000}, "networks": {"cnn": {
        "history": {"epochs": [{"val_acc": 0.90}, {"val_acc": 0.93}], "best_epoch": 2}, "test": {"accuracy": 0.935}}}}
    src = build.Sources(tmp_path, metrics=metrics)
    run = {"val": {"accuracy": 0.86}, "test": {"accuracy": 0.85}}
    (line,) = submission.best_submission(src, run)
    assert line.startswith("The file to upload is outputs/spec000/Kaggle_subs/conv_net_submission.csv (report.py 000 "
                           "copies it from outputs/predictions_cnn.csv): it comes from the hand-in's Conv_Net "
                           "(cnn.py), trained on 55,000 images") and "(93.00% against 86.00%" in line
    run = {"val": {"accuracy": 0.95}, "test": {"accuracy": 0.94}}
    assert submission.best_submission(src, run)[0].startswith(
        "The file to upload is outputs/spec000/Kaggle_subs/submission_001.csv: it comes from the reference network")


def test_the_kaggle_file_report_000_copies_is_the_network_it_names(tmp_path):
    (tmp_path / "predictions_cnn.csv").write_text("id,label\n0,9\n")
    (tmp_path / "spec000" / "model").mkdir(parents=True)
    (tmp_path / "spec000" / "model" / "run.json").write_text(json.dumps({
        "flags": {"train_per_class": 150, "seed": 0, "batch_size": 130}, "best_epoch": 3, "epochs": 5,
        "val": {"accuracy": 0.86}, "test": {"accuracy": 0.85}}))
    metrics = {"sizes": {"train": 55000}, "networks": {"cnn": {
        "history": {"epochs": [{"val_acc": 0.93}], "best_epoch": 1}, "test": {"accuracy": 0.935}}}}
    src = build.Sources(tmp_path, metrics=metrics)
    assert submission.upload_source(src) == "predictions_cnn.csv"
    (tmp_path / "spec000" / "model" / "run.json").write_text(json.dumps({
        "flags": {}, "best_epoch": 3, "epochs": 5, "val": {"accuracy": 0.99}, "test": {"accuracy": 0.98}}))
    assert submission.upload_source(src) is None  # the reference run is the better: Kaggle_subs has it already


def test_the_roc_curves_are_read_both_ways():
    def run(aucs):
        return {"extras": {"roc": {"classes": {k: {"auc": v} for k, v in aucs.items()}}}}
    a = run({"Shirt": 0.94, "Bag": 0.997, "Coat": 0.98})
    b = run({"Shirt": 0.95, "Bag": 0.996, "Coat": 0.93})
    words = spec003_figures.roc_words({"plain": a, "mobile": b})
    assert "differ most for Coat (0.9800 against 0.9300) and Shirt (0.9400 against 0.9500), plain first" in words
    assert "plain finds Shirt hardest and mobile Coat" in words
    assert "both find Shirt hardest" in spec003_figures.roc_words({"plain": a, "mobile": run({"Shirt": 0.9, "Bag": 1.0,
                                                                                       "Coat": 0.99})})


def test_the_report_draws_the_smallest_middle_and_largest_fractions_curves():
    assert sweeps.shown_fractions([k / 20 for k in range(1, 21)]) == [0.05, 0.5, 1.0]
    assert sweeps.shown_fractions([0.1, 0.3, 0.4, 1.0]) == [0.1, 0.4, 1.0]  # 0.4 is nearest the middle, 0.55
    assert sweeps.shown_fractions([0.1, 1.0]) == [0.1, 1.0]  # --quick: all of them


@pytest.mark.parametrize("per_class", [1000, 20000])
def test_the_autoencoder_sample_is_a_departure_only_when_it_is_smaller_than_the_spec_data(per_class):
    upstream = _record("autoencoder", 0, 0.01, 0.01, kind="upstream", train_per_class=per_class)
    upstream["images"] = 10 * per_class
    results = {**_results([upstream]), "pool": 27540}
    lines = spec004.autoencoder_departure(build.Sources(Path("."), studies={"pretrain": results}))
    spec = 27540 + 5 * 7000  # Fashion-MNIST-1's training pool and every image of Fashion-MNIST-2's 5 classes
    if 10 * per_class < spec:
        assert lines == [f"- The autoencoder (3.4.1-3.4.2) trains on 10,000 images, a stratified 1,000 a class of "
                         f"each half: {100 * 10000 / spec:.0f} % of the 62,540 the spec's data holds "
                         "(Fashion-MNIST-1's training images and all of Fashion-MNIST-2), so that it fits 2 "
                         "cores; --budget spec trains it on all of them."]
    else:
        assert lines == []


def test_the_layer_dimensions_sentence_reads_the_table_it_stands_over():
    from torch import nn

    from fmnist.core.layers import layer_table
    from fmnist.studies.networks import ReferenceNet

    def src(model):
        run = {**_record("Xavier, lr 0.05", 0, 0.3, 0.3), "extras": {"layer_table": layer_table(model)}}
        return _sources(reference=[run])
    words = spec000.dimensions(src(ReferenceNet()))
    assert "The image enters conv1 as 1 x 28 x 28; the 4 conv layers keep its height and width and the 3 poolings " \
        "halve them (rounding down), so fc1 takes 2,304 values (256 x 3 x 3 flattened), and bn_logits gives the 10 " \
        "outputs." in words  # 28 -> 14 -> 7 -> 3 by hand
    small = nn.Sequential()
    small.features = nn.Sequential()
    small.features.add_module("conv1", nn.Conv2d(1, 4, 3))  # no padding: 28 -> 26
    small.features.add_module("pool1", nn.MaxPool2d(2))   # 26 -> 13
    small.classifier = nn.Sequential()
    small.classifier.add_module("flatten", nn.Flatten())
    small.classifier.add_module("fc", nn.Linear(4 * 13 * 13, 10))
    words = spec000.dimensions(src(small))
    assert "keep its height" not in words and "fc takes 676 values (4 x 13 x 13 flattened)" in words


def test_the_handin_report_draws_every_question_for_the_column_with_8_and_9s_numbers_as_tables():
    from matplotlib.figure import Figure

    from fmnist.core import files
    from fmnist.handin import answers
    from fmnist.reports import build, spec001
    from fmnist.reports.latex import Text
    out = Path(__file__).resolve().parent.parent / "outputs"
    src = build.Sources(out, files.load_metrics(out))
    shown = {item.number: item.visuals(src) for item in spec001.ITEMS}
    assert [len(shown[n]) for n in "1234567"] == [2, 2, 2, 2, 1, 1, 2]
    assert all(isinstance(v, Figure) for n in "12456" for v in shown[n])
    ffn, cnn = (v.table_text for v in shown["3"])  # question 3 as booktabs tables: each tensor, then the total
    totals = [f"{src.metrics['networks'][k]['parameters']['total']:,}" for k in ("ffn", "cnn")]
    assert [ffn["rows"][-1], cnn["rows"][-1]] == [["Total", "", total] for total in totals]
    maps, read = shown["7"]  # question 7: the maps, then where each activated map responds, a row each
    assert isinstance(maps, Figure) and [r[0] for r in read.table_text["rows"]] == ["relu1"] * 4 + ["relu2"] * 4 + [
        "relu3"] * 4
    q8, q9 = src.metrics["questions"]["q8"], src.metrics["questions"]["q9"]
    tables = {n: [v.table_text for v in shown[n] if hasattr(v, "table_text") and not isinstance(v, Figure)]
              for n in "89"}
    assert [isinstance(v, Figure) for v in shown["8"]] == [True] * 3 + [False] * 2
    kinds = ["figure" if isinstance(v, Figure) else "text" if isinstance(v, Text) else "table" for v in shown["9"]]
    k = len(q9["patches"])  # the curves; each stage's patches and its reading, the stage table before the last's
    assert kinds == ["figure"] + ["figure", "text"] * (k - 1) + ["table", "figure", "text", "table"]
    read = [v.lines[0] for v in shown["9"] if isinstance(v, Text)]
    assert read == [answers.stage_reading(st) for st in q9["patches"]]
    side, sharing = tables["8"]
    assert [r[2] for r in side["rows"]] == [f"{v['accuracy']:.2f}%" for v in q8["networks"].values()]
    assert [r[3:] for r in sharing["rows"]] == [[f"{r['shared']:,}", f"{r['local']:,}", f"{r['dense']:,}"]
                                                for r in q8["weight_sharing"]]
    stages, readings = tables["9"]
    assert [r[0] for r in stages["rows"]] == [r["stage"] for r in q9["stages"]]
    assert [(r[0], int(r[1])) for r in readings["rows"]] == [(st["stage"], ch["channel"]) for st in q9["patches"]
                                                             for ch in st["channels"]]
    patches = shown["9"][1]  # conv1's channels: a row of patches each, named on its left
    assert [ax.get_ylabel().split("\n")[1] for ax in patches.axes] == [
        f"ch {ch['channel']}" for ch in q9["patches"][0]["channels"]]
    assert shown["1"][0].column_inches == spec001.COLUMN_INCHES["examples"]
    assert len(shown["4"][0].axes) == 2  # one matrix and its colour bar, not figures.pdf's two matrices


@pytest.mark.parametrize("accuracy,side", [(0.9365, "2.35 points below"), (0.9712, "1.12 points above")])
def test_item_1_3_1_leads_with_the_packages_best_model_against_the_target_both_ways(accuracy, side):
    from fmnist.reports import spec000
    cnn = {"test": {"accuracy": accuracy}, "parameters": {"total": 276914},
           "config": {"optimizer": "sgd", "momentum": 0.9, "lr": 0.2, "batch_size": 256, "weight_decay": 5e-4,
                      "label_smoothing": 0.1, "flip": True, "patience": 5, "epochs": 11}}
    src = build.Sources(Path("."), {"networks": {"cnn": cnn}, "sizes": {"train": 55000}})
    lead = spec000.conv_net_target(src)
    assert lead.startswith("Best performing model: the hand-in's Conv_Net") and f"{side} the 96 % target" in lead
    assert "276,914 parameters" in lead and "batch 256" in lead
    assert spec000.conv_net_target(build.Sources(Path("."), {})) == ""  # before fashionmnist.py has run
