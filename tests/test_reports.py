"""report.py: every item of each spec once and in the spec's order, and answers that follow
the numbers (made-up measurements both ways)."""
import re
from pathlib import Path

import numpy as np
import pytest

from fmnist.reports import build, spec000, spec003, spec004

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
    answer = spec004.lowest_test_loss(_sources(variants=records))
    if same:
        assert answer.startswith("Yes: A has both the lowest mean validation loss")
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
    answer = spec000.fooling(build.Sources(Path("."), analysis=analysis))
    fewer = "CNN" if cnn_zero < 40 else "FFN"
    assert f"The {fewer} is fooled on every image with fewer changed pixels" in answer
    assert f"CNN: greedy attack 90.0% -> " in answer and f"0% at {cnn_zero} pixels" in answer


def test_the_confusion_hypothesis_follows_the_pair_confused():
    def sources(i, j):
        c = np.eye(5, dtype=int) * 90
        c[i, j] = 10
        run = _record("random 100%", 0, 0.1, 0.1, kind="sweep", start="random", fraction=1.0)
        run["test"]["confusion"] = c.tolist()
        return _sources(transfer=[run])
    garments = spec004.confused(sources(0, 2))  # T-shirt/top taken for Coat: both upper-body garments
    assert "T-shirt/top taken for Coat (10 of its 100 images)" in garments and "both are upper-body garments" in garments
    unlike = spec004.confused(sources(3, 4))  # Sandal taken for Bag
    assert "Sandal is a footwear and Bag a bag: these are not alike in kind" in unlike


def test_filter_patterns_count_by_hand():
    blob = np.ones((3, 3))
    vertical = np.array([[-1, 0, 1]] * 3, float)
    horizontal = vertical.T
    p = spec000.filter_patterns(np.stack([blob, vertical, vertical, horizontal]))
    assert (p["blob"], p["edge"], p["vertical"], p["horizontal"]) == (1, 3, 2, 1)


def test_items_waiting_for_a_study_name_its_command(tmp_path):
    src = build.Sources(tmp_path)
    pages = build.write(tmp_path / "r.pdf", "003", "Spec 003", spec003.ITEMS, src)
    assert pages == {} and (tmp_path / "r.pdf").stat().st_size > 1000
    assert all(build.command(n) == "python experiments.py mobilenet" for n in spec003.ITEMS[0].missing(src))
