"""The shared training loop: augmentation, schedule, best-epoch weights, early stopping."""
import math

import pytest
import torch

from fmnist import data
from fmnist import training
from ffn import FF_Net


def test_mirror_half_returns_each_image_or_its_mirror():
    x = torch.randn(400, 1, 28, 28)
    out = training.mirror_half(x, torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all()
    assert 150 < mirrored.sum() < 250


def test_one_cycle_schedule_rises_to_the_peak_then_decays_to_zero():
    total = 100
    factors = [training._lr_factor(s, total, 0.2) for s in range(total)]
    assert factors[19] == 1.0 and max(factors) == 1.0
    assert all(a <= b for a, b in zip(factors[:20], factors[1:20]))
    assert all(a >= b for a, b in zip(factors[20:], factors[21:]))
    assert factors[-1] < 1e-3


@pytest.fixture
def splits(data_dir):
    return data.load(data_dir, download=False)


def test_fit_keeps_the_best_validation_epoch(splits):
    torch.manual_seed(0)
    model = FF_Net(hidden=(32,))
    settings = training.TrainSettings(epochs=4, batch_size=32, lr=0.05, flip=False)
    history = training.fit(model, splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                           log=lambda *a: None)
    losses = [e["val_loss"] for e in history["epochs"]]
    assert history["best_epoch"] == 1 + losses.index(min(losses))
    x_val, y_val = splits["val"]
    val_loss = torch.nn.functional.cross_entropy(training.predict(model, x_val, torch.device("cpu")), y_val)
    assert val_loss.item() == pytest.approx(min(losses), rel=1e-5)
    assert len(history["iterations"]) == 4 * math.ceil(len(splits["train"][1]) / 32)


def test_early_stopping_after_patience_epochs(splits, monkeypatch):
    # scripted validation: confidence in the true class 1, 3, 2, 1.5, ... so the loss is
    # lowest after epoch 2 and worse for the next two: patience 2 stops after epoch 4
    x_val, y_val = splits["val"]
    scales = iter([1.0, 3.0, 2.0, 1.5, 1.2, 1.1])
    monkeypatch.setattr(training, "predict",
                        lambda model, x, device: next(scales) * torch.nn.functional.one_hot(y_val, 10).float())
    settings = training.TrainSettings(epochs=6, batch_size=64, lr=0.01, flip=False, patience=2)
    lines = []
    history = training.fit(FF_Net(hidden=(16,)), splits["train"], splits["val"], settings,
                           torch.device("cpu"), 0, log=lines.append)
    assert len(history["epochs"]) == 4 and history["best_epoch"] == 2
    assert "stopping early" in lines[-1]


def test_exploding_loss_raises(splits):
    torch.manual_seed(0)
    settings = training.TrainSettings(epochs=3, batch_size=16, lr=1e3, flip=False)
    with pytest.raises(training.Diverged, match="lower --lr"):
        training.fit(FF_Net(), splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                     log=lambda *a: None)
