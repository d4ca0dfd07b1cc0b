"""fashionmnist.py end to end on synthetic data, its metrics against scikit-learn, its flags."""
import json
import textwrap

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

import fashionmnist
from cnn import Conv_Net
from ffn import FF_Net
from fmnist.core import data, metrics
from fmnist.handin import answers, document, questions
from fmnist.handin.questions import answer_text

TRAINING_FILES = ["ffn.pth", "cnn.pth", "metrics.json", "figures.pdf"] + [
    f"{net}_{kind}.png" for net in ("ffn", "cnn") for kind in ("examples", "loss", "parameters", "confusion")] + [
    "q8_gains.png", "q8_why.png", "q9_stages.png", "q9_patches.png"]


def test_confusion_and_per_class_metrics_agree_with_sklearn():
    gen = torch.Generator().manual_seed(0)
    y_true = torch.randint(0, 10, (500,), generator=gen)
    y_pred = torch.where(torch.rand(500, generator=gen) < 0.7, y_true, torch.randint(0, 10, (500,), generator=gen))
    ours = metrics.confusion_matrix(y_true, y_pred)
    assert np.array_equal(ours, confusion_matrix(y_true, y_pred, labels=range(10)))
    assert np.trace(ours) / ours.sum() == pytest.approx(accuracy_score(y_true, y_pred))
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=range(10), zero_division=0)
    table = metrics.per_class(ours)
    assert [v["precision"] for v in table.values()] == pytest.approx(p)
    assert [v["recall"] for v in table.values()] == pytest.approx(r)
    assert [v["f1"] for v in table.values()] == pytest.approx(f)


@pytest.mark.parametrize("argv,flag", [
    (["--epochs", "0"], "--epochs"), (["--epochs", "-3"], "--epochs"), (["--epochs", "two"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"), (["--batch_size", "1"], "--batch-size"),
    (["--lr", "fast"], "--lr"), (["--lr", "0"], "--lr"), (["--lr", "-0.1"], "--lr"), (["--lr", "nan"], "--lr"),
    (["--model", "rnn"], "--model"), (["--device", "tpu"], "--device"), (["--init", "zeros"], "--init"),
    (["--patience", "0"], "--patience"),
])
def test_bad_flag_values_get_one_line_and_exit_2(argv, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        fashionmnist.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        fashionmnist.parse_args(["--device", "cuda"])
    assert exit_info.value.code == 2 and "cuda is not available" in capsys.readouterr().err


@pytest.mark.slow
def test_main_on_synthetic_data_writes_every_output(data_dir, tmp_path):
    out = tmp_path / "out"
    code = fashionmnist.main(["--data-dir", str(data_dir), "--out-dir", str(out), "--epochs", "2",
                              "--batch-size", "32"])
    assert code == 0
    for name in TRAINING_FILES:
        assert (out / name).stat().st_size > 0, name
    assert not list(out.glob(".staging*"))
    metrics = json.loads((out / "metrics.json").read_text())
    for key, make in (("ffn", FF_Net), ("cnn", Conv_Net)):
        net = metrics["networks"][key]
        assert len(net["history"]["epochs"]) == 2
        assert len(net["history"]["iterations"]) == 2 * ((220 + 31) // 32)
        assert net["parameters"]["total"] == sum(p.numel() for p in make().parameters())
        model = make()
        model.load_state_dict(torch.load(out / f"{key}.pth", map_location="cpu", weights_only=True))
        x, y = data.load_test(data_dir, download=False)
        acc = (model.eval()(x).argmax(1) == y).float().mean().item()
        assert net["test"]["accuracy"] == pytest.approx(acc)
        assert np.trace(net["test"]["confusion"]) == round(acc * len(y))
        ex = net["examples"]
        assert ex["correct"]["true"] == ex["correct"]["pred"] or acc == 0
        assert ex["wrong"]["true"] != ex["wrong"]["pred"] or acc == 1
    assert metrics["environment"]["versions"]["torch"] == torch.__version__


def test_question_pages_state_the_numbers_in_metrics_json(earlier_run):
    out, _ = earlier_run
    metrics = json.loads((out / "metrics.json").read_text())
    q8, q9 = metrics["questions"]["q8"], metrics["questions"]["q9"]
    for key in ("ffn", "cnn"):  # the side-by-side numbers are the test results, not a second measurement
        assert q8["networks"][key]["accuracy"] == pytest.approx(100 * metrics["networks"][key]["test"]["accuracy"])
    gains = {r["class"]: r for r in q8["classes"]}
    for k, name in enumerate(data.CLASSES):  # per class: the confusion matrices' diagonals
        right = [metrics["networks"][n]["test"]["confusion"][k][k] for n in ("ffn", "cnn")]
        assert gains[name]["gained_images"] == right[1] - right[0]
    assert [r["stage"] for r in q9["stages"]] == ["input", "relu1", "relu2", "relu3", "relu_fc1"]
    pages = document.question_pages(metrics)
    assert [p.heading for p in pages] == ["Question 8 (1 of 2)", "Question 8 (2 of 2)", "Question 9 (1 of 4)",
                                          "Question 9 (2 of 4)", "Question 9 (3 of 4)",
                                          "Question 9 (4 of 4)"]  # the patches: a page per conv stage

    def texts(fig) -> str:  # every text of a figure and of its subfigures
        return " ".join([t.get_text() for t in fig.texts] + [texts(s) for s in fig.subfigs])
    configs = {k: net["config"] for k, net in metrics["networks"].items()}
    assert configs["cnn"]["test_time_flip"] and not configs["ffn"]["test_time_flip"]  # as Conv_Net() and FF_Net() score
    assert answer_text(answers.q8_paragraph(q8, None, shift=2, configs=configs)) in texts(pages[0].fig)
    curve = next(ax for ax in pages[1].fig.axes if ax.get_title().startswith("Translation"))
    assert textwrap.fill(answers.translation_words(q8), 80) in curve.get_xlabel()  # beside the shift curve
    assert answer_text(answers.q9_paragraph(q9, stages=False)) in texts(pages[2].fig)
    for stage, page in zip(q9["patches"], pages[3:]):  # each conv stage's reading under its own patches
        assert textwrap.fill(answers.stage_reading(stage), questions.NOTE_CHARS) in texts(page.fig)


@pytest.mark.slow
def test_skip_train_reproduces_the_evaluation(data_dir, tmp_path):
    out = tmp_path / "out"
    args = ["--data-dir", str(data_dir), "--out-dir", str(out), "--epochs", "1", "--model", "cnn"]
    assert fashionmnist.main(args) == 0
    first = json.loads((out / "metrics.json").read_text())["networks"]["cnn"]
    assert fashionmnist.main(args + ["--skip-train"]) == 0
    second = json.loads((out / "metrics.json").read_text())["networks"]["cnn"]
    assert second["test"] == first["test"] and second["history"] == first["history"]


def test_parameter_split_by_hand():
    c1, c2, c3, hidden = 8, 16, 32, 64
    model = Conv_Net(widths=(c1, c2, c3), hidden=hidden)
    conv = 9 * (c1 + c1 * c2 + c2 * c3) + 2 * (c1 + c2 + c3)
    fc = (c3 * 3 * 3 * hidden + hidden) + 2 * hidden + (hidden * 10 + 10)
    counts = metrics.count_parameters(model)
    assert counts["by_kind"] == {"convolutional": conv, "fully connected": fc}
    assert counts["total"] == conv + fc
    ffn = FF_Net(hidden=(20, 30))
    by_hand = (784 * 20 + 20) + 2 * 20 + (20 * 30 + 30) + 2 * 30 + (30 * 10 + 10)
    assert metrics.count_parameters(ffn)["by_kind"] == {"fully connected": by_hand}
