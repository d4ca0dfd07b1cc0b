"""The specs' code as their graders run it: spec 003's folder+CSV Dataset, which divides the
training split inside itself, and its main, which trains and saves or loads and predicts."""
import csv

import numpy as np
import pytest
import torch
from PIL import Image

from fmnist.core import data
from fmnist.studies import mobilenet_assignment as m


def _folders(tmp_path, n_train=60, n_test=20):
    rng = np.random.default_rng(0)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        y = torch.arange(n) % 10
        x = torch.tensor(rng.uniform(-1, 1, (n, 1, 28, 28)), dtype=torch.float32)
        x[:, :, 2:6, :] = (y[:, None, None, None].float() / 4.5 - 1)  # a band whose brightness gives the class
        assert m.export(x, y, tmp_path / split) == n
        out[split] = (x, y)
    return out


def test_export_writes_the_specs_layout_and_the_dataset_reads_it_back(tmp_path):
    written = _folders(tmp_path)
    with open(tmp_path / "train" / "labels.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["image", "label"] and len(rows) == 61 and rows[1] == ["00000.png", "0"]
    assert Image.open(tmp_path / "train" / "images" / "00007.png").size == (28, 28)
    every = m.FolderDataset(tmp_path / "train")
    x, y = every[7]
    assert x.shape == (1, 28, 28) and y == 7 and -1 <= x.min() and x.max() <= 1
    assert torch.allclose(x, data.preprocess(data.to_uint8(written["train"][0][7:8, 0]))[0], atol=1e-6)
    plain = m.FolderDataset(tmp_path / "train", transform=lambda image: np.asarray(image))
    assert plain[7][0].dtype == np.uint8  # the transform is the caller's


def test_the_dataset_divides_training_and_validation_inside_itself(tmp_path):
    _folders(tmp_path)
    train = m.FolderDataset(tmp_path / "train", "train", None, val_size=12, seed=3)
    val = m.FolderDataset(tmp_path / "train", "val", None, val_size=12, seed=3)
    assert (len(train), len(val)) == (48, 12)
    assert not {r[0] for r in train.rows} & {r[0] for r in val.rows}
    assert {r[0] for r in train.rows} | {r[0] for r in val.rows} == {f"{i:05d}.png" for i in range(60)}
    assert len(m.FolderDataset(tmp_path / "train", "train", 20, val_size=12, seed=3)) == 20
    assert m.FolderDataset(tmp_path / "train", "val", None, 12, seed=4).rows != val.rows
    loaders = m.loaders(tmp_path, train_size=30, val_size=12, test_size=15, batch_size=8)
    assert [len(loaders[k].dataset) for k in ("train", "val", "test")] == [30, 12, 15]
    xb, yb = next(iter(loaders["test"]))
    assert xb.shape == (8, 1, 28, 28) and yb.tolist() == list(range(8))


@pytest.mark.slow
def test_main_trains_and_saves_then_loads_and_predicts_the_same(tmp_path, capsys):
    _folders(tmp_path)
    path = tmp_path / "saved" / "net.pth"
    trained = m.main(tmp_path, 40, 10, 20, 1, 1, training_epochs=2, is_training=True, model_path=path,
                     visualize_results=True, name="A Student", roll_no="42")
    printed = capsys.readouterr().out
    assert "name: A Student; roll no: 42" in printed and "test F1 per class: T-shirt/top" in printed
    assert "test confusion matrix" in printed and "training: loss" in printed and "validation: loss" in printed
    assert path.exists() and {p.name for p in trained["figures"]} == {"curves.png", "confusion.png", "scores.png",
                                                                      "right_wrong.png"}
    from sklearn.metrics import accuracy_score, f1_score  # what it prints, against scikit-learn on what it returns
    y_test = m.tensors(m.loaders(tmp_path, 40, 10, 20)["test"])[1]
    line = next(x for x in printed.splitlines() if x.startswith("test: loss"))
    assert f"accuracy {100 * accuracy_score(y_test, trained['predictions']):.2f}%" in line
    assert f"macro F1 {f1_score(y_test, trained['predictions'], average='macro', labels=list(range(10))):.4f}" in line
    assert trained["test_accuracy"] == pytest.approx(accuracy_score(y_test, trained["predictions"]))
    loaded = m.main(tmp_path, 40, 10, 20, 1, 1, is_training=False, model_path=path)
    assert torch.equal(loaded["predictions"], trained["predictions"])
    assert loaded["test_accuracy"] == trained["test_accuracy"]
    net = m.load(path, 1, 1)
    assert torch.equal(m.test(net, None, *m.tensors(m.loaders(tmp_path, 40, 10, 20)["test"])), trained["predictions"])


def test_a_missing_folder_is_one_line(tmp_path, capsys):
    assert m.cli(["run", str(tmp_path / "nowhere"), "--no-training"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mobilenet_assignment: ") and len(err.strip().splitlines()) == 1


def test_ctrl_c_is_one_line_and_exit_130(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(m, "main", interrupted)
    assert m.cli(["run", str(tmp_path)]) == 130
    err = capsys.readouterr().err
    assert err.strip().startswith("mobilenet_assignment: interrupted") and len(err.strip().splitlines()) == 1


def test_spec_000s_flags_are_validated_as_the_spec_says(capsys):
    from fmnist.studies import reference_assignment as r
    base = ["--lr", "0.01", "--init", "1", "--save_dir", "d"]
    for good in (1, 5, 20, 125):
        assert r.parse_args(base + ["--batch_size", str(good)]).batch_size == good
    for bad in ("7", "0", "3", "-5", "x"):
        with pytest.raises(SystemExit) as stop:
            r.parse_args(base + ["--batch_size", bad])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("train.py: error: argument --batch_size") and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        r.parse_args(["--lr", "0.01", "--batch_size", "20", "--init", "3", "--save_dir", "d"])
    assert {r.INITS[r.parse_args(base[:2] + ["--init", str(k), "--save_dir", "d", "--batch_size", "5"]).init]
            for k in (1, 2)} == {"xavier", "he"}


def test_the_submission_csv_and_every_kept_copy(tmp_path):
    from fmnist.studies import reference_assignment as r
    path = r.submission(torch.tensor([3, 1, 4, 1, 5]), tmp_path / "model" / "test_submission.csv")
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [["id", "label"], ["0", "3"], ["1", "1"], ["2", "4"], ["3", "1"], ["4", "5"]]
    first, second = (r.keep_submission(path, tmp_path / "Kaggle_subs") for _ in range(2))
    assert (first.name, second.name) == ("submission_001.csv", "submission_002.csv")
    assert first.read_text() == second.read_text() == path.read_text()


def test_run_sh_holds_the_best_setting_in_the_specs_flags():
    from fmnist.studies import reference_assignment as r
    script = r.run_sh({"lr": 0.05, "batch_size": 128, "init": "xavier"}, "why")
    assert "\"$PY\" train.py --lr 0.05 --batch_size 130 --init 1 --save_dir outputs/spec000/model" in script
    assert "(the study's batch 128 rounded to the spec's rule)" in script
    exact = r.run_sh({"lr": 0.01, "batch_size": 20, "init": "he"}, "why")
    assert "--batch_size 20 --init 2 " in exact and "rounded" not in exact
    assert r.batch_size(exact.split("--batch_size ")[-1].split()[0]) == 20


def test_train_py_trains_saves_and_submits(data_dir, tmp_path):
    from fmnist.studies import reference_assignment as r
    save = tmp_path / "model"
    assert r.main(["--lr", "0.01", "--batch_size", "20", "--init", "2", "--save_dir", str(save), "--epochs", "1",
                   "--data-dir", str(data_dir)]) == 0
    from fmnist.studies.networks import ReferenceNet
    net = ReferenceNet()
    net.load_state_dict(torch.load(save / "model.pth", map_location="cpu", weights_only=True))
    rows = (save / "test_submission.csv").read_text().splitlines()
    assert rows[0] == "id,label" and len(rows) == 1 + 100 and rows[1].startswith("0,")
    assert (tmp_path / "Kaggle_subs" / "submission_001.csv").read_text() == (save / "test_submission.csv").read_text()


def test_the_mobilenet_studys_numbers_come_through_spec_003s_train_and_test(tmp_path):
    """The study's run calls the spec's train and test; its record is the one the engine's own
    path (fit, predict) gives, number for number, so every committed mobilenet run stands."""
    from fmnist.studies import measure, mobilenet
    from fmnist.studies.networks import init_network
    from fmnist.studies.study import Context, Options

    gen = torch.Generator().manual_seed(0)
    def split(n):
        y = torch.arange(n) % 10
        return torch.rand(n, 1, 28, 28, generator=gen) * 2 - 1 + (y.float() / 10)[:, None, None, None], y
    ctx = Context(Options(quick=True), {"train": split(500), "val": split(300), "test": split(500)},
                  torch.device("cpu"), tmp_path)
    config = dict(mobilenet.STUDY.plan(ctx)[0])
    config["extras"] = False
    torch.manual_seed(config["seed"])  # as the engine seeds every run: the network's default init draws from it
    through_spec = mobilenet.STUDY.run(config, ctx)
    torch.manual_seed(config["seed"])
    engine, _ = measure.train_and_measure(init_network(config["conv_blocks"], config["mobilenet_blocks"]), config,
                                          measure.splits(ctx, config["train_per_class"], config["seed"]), ctx)

    def timeless(record):
        out = {k: v for k, v in record.items() if k not in ("seconds_per_epoch", "extras")}
        out["history"] = [{k: v for k, v in e.items() if k != "seconds"} for e in record["history"]]
        return out
    assert timeless(through_spec) == timeless(engine) and through_spec["test"]["confusion"]


def test_visualize_plots_f1_and_accuracy_from_sklearn(tmp_path):
    from sklearn.metrics import accuracy_score, f1_score
    y = torch.arange(40) % 10
    logits = torch.nn.functional.one_hot(torch.where(torch.arange(40) < 30, y, (y + 1) % 10), 10).float()
    x = torch.zeros(40, 1, 28, 28)
    paths = m.visualize([], x, y, logits, tmp_path)
    assert {p.name for p in paths} == {"confusion.png", "scores.png", "right_wrong.png"}
    fig = m.scores_figure(y.numpy(), logits.argmax(1).numpy())
    title = fig.get_suptitle()
    assert f"accuracy {100 * accuracy_score(y, logits.argmax(1)):.2f}%" in title and "accuracy 75.00%" in title
    assert f"macro F1 {f1_score(y, logits.argmax(1), average='macro'):.4f}" in title
    bars = [p.get_height() for p in fig.axes[0].patches][:10]
    assert bars == pytest.approx(f1_score(y, logits.argmax(1), average=None).tolist())
    (line,) = fig.axes[0].get_lines()  # the accuracy across the classes, drawn as well as written
    assert line.get_ydata()[0] == pytest.approx(0.75) and "75.00%" in line.get_label()
