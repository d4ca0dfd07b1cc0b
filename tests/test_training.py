"""The shared training loop: augmentation, schedule, best-epoch weights, early stopping."""
import math
from dataclasses import replace

import pytest
import torch

from ffn import FF_Net
from fmnist.core import data, memory, training


def test_mirror_half_returns_each_image_or_its_mirror():
    x = torch.randn(400, 1, 28, 28)
    out = training.mirror_half(x, torch.Generator().manual_seed(0))
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all()
    assert 150 < mirrored.sum() < 250


class Recorder(torch.nn.Module):
    """A linear classifier that keeps every training batch it is given."""

    def __init__(self):
        super().__init__()
        self.fc, self.seen = torch.nn.Linear(28 * 28, 10), []

    def forward(self, x):
        if self.training:
            self.seen.append(x.detach().clone())
        return self.fc(x.flatten(1))


@pytest.mark.parametrize("alternate", [True, False])
def test_alternating_flips_show_each_image_once_each_way_in_two_epochs(alternate):
    """With alternate, each image is mirrored in exactly one of two consecutive epochs (which
    epoch, drawn once per image); with random flips some images come the same way twice."""
    x = torch.randn(64, 1, 28, 28)
    y = torch.arange(64) % 10
    model = Recorder()
    settings = training.TrainSettings(epochs=2, batch_size=64, lr=0.01, flip=True, alternate=alternate)
    training.fit(model, (x, y), (x[:8], y[:8]), settings, torch.device("cpu"), 0, log=lambda *a: None)
    mirrored = []
    for batch in model.seen:  # one batch per epoch: match each image to its source
        flat, source, flipped = batch.flatten(1), x.flatten(1), x.flip(-1).flatten(1)
        plain = (flat[:, None] == source[None]).all(-1)    # (batch, 64)
        mirror = (flat[:, None] == flipped[None]).all(-1)
        assert (plain.any(1) | mirror.any(1)).all()
        mirrored.append(mirror.any(0))                     # by source image: mirrored this epoch
    once = mirrored[0] ^ mirrored[1]
    assert bool(once.all()) == alternate
    assert 16 < int(mirrored[0].sum()) < 48


def test_one_cycle_schedule_rises_to_the_peak_then_decays_to_zero():
    total = 100
    factors = [training.lr_factor(s, total, 0.2) for s in range(total)]
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


def test_plateau_schedule_divides_the_rate_after_two_epochs_without_improvement_then_stops(splits, monkeypatch):
    # scripted validation: the loss falls for 2 epochs, then never again: the rate is divided by 10
    # after epochs 4 and 6 (2 and 4 epochs without improvement) and patience 5 stops after epoch 7
    x_val, y_val = splits["val"]
    scales = iter([1.0, 3.0, 2.0, 1.5, 1.2, 1.1, 1.05, 1.0, 1.0, 1.0])
    monkeypatch.setattr(training, "predict",
                        lambda model, x, device: next(scales) * torch.nn.functional.one_hot(y_val, 10).float())
    settings = training.TrainSettings(epochs=10, batch_size=64, lr=0.01, flip=False, patience=5, schedule="plateau")
    history = training.fit(FF_Net(hidden=(16,)), splits["train"], splits["val"], settings,
                           torch.device("cpu"), 0, log=lambda *a: None)
    assert len(history["epochs"]) == 7 and history["best_epoch"] == 2
    steps = math.ceil(len(splits["train"][1]) / 64)
    rates = [0.01 * training.plateau_factor(s, steps, 0) for s in range(steps)]
    assert rates[0] == pytest.approx(0.01 / steps) and rates[-1] == pytest.approx(0.01)  # warm-up over epoch 1
    ends = [e["lr_end"] for e in history["epochs"]]  # the rate of each epoch's last batch
    assert ends == pytest.approx([0.01] * 4 + [1e-3] * 2 + [1e-4])


@pytest.mark.parametrize("batch", [220, 18])  # 220 images: 1 step a pass, or 12 (a last batch of 4 skipped)
def test_an_epoch_of_at_least_min_steps_gives_every_data_size_the_same_chances(splits, monkeypatch, batch):
    # scripted validation: the loss is lowest after epoch 1 and never again; patience 3 and the
    # plateau's cut after 2 epochs count epochs of at least 12 steps, whatever a pass holds
    x_val, y_val = splits["val"]
    scales = iter([3.0, 2.0, 1.5, 1.2, 1.1])
    monkeypatch.setattr(training, "predict",
                        lambda model, x, device: next(scales) * torch.nn.functional.one_hot(y_val, 10).float())
    seen = []
    monkeypatch.setattr(training, "to_device", lambda x, device: seen.append(x.shape[0]) or x)
    settings = training.TrainSettings(epochs=10, batch_size=batch, lr=0.01, flip=False, patience=3,
                                      schedule="plateau", min_steps=12)
    history = training.fit(FF_Net(hidden=(16,)), splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                           log=lambda *a: None)
    assert history["epoch_steps"] == 12 and len(history["epochs"]) == 4
    assert len(history["iterations"]) == 4 * 12  # the same number of steps before stopping
    assert [e["lr_end"] for e in history["epochs"]] == pytest.approx([0.01] * 3 + [1e-3])  # cut after epoch 3
    assert sum(seen) == 4 * 12 * min(batch, 220)  # 220 images: 12 passes an epoch, each image once a pass
    assert training.passes_per_epoch(training.steps_per_pass(220, batch), 12) == (12 if batch == 220 else 1)
    assert training.passes_per_epoch(training.steps_per_pass(220, 128), 0) == 1  # 0: one pass an epoch


def test_a_run_trained_longer_ends_the_same_under_the_plateau_schedule(splits):
    """Under the plateau schedule the rate does not depend on the ceiling, so a run that stops
    early ends exactly where the same run with a higher ceiling ends."""
    ends = []
    for ceiling in (30, 60):
        torch.manual_seed(0)
        model = FF_Net(hidden=(16,))
        settings = training.TrainSettings(epochs=ceiling, batch_size=64, lr=0.05, flip=False, patience=2,
                                          schedule="plateau")
        history = training.fit(model, splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                               log=lambda *a: None)
        ends.append((len(history["epochs"]), history["best_epoch"], history["epochs"][-1]["val_loss"]))
    assert ends[0] == ends[1] and ends[0][0] < 30


def test_the_other_training_losses_against_their_definitions():
    gen = torch.Generator().manual_seed(0)
    out, y = torch.randn(6, 10, generator=gen), torch.tensor([0, 3, 9, 2, 2, 5])
    ce = torch.nn.functional.cross_entropy(out, y)
    assert training.focal_loss(out, y, gamma=0.0).item() == pytest.approx(ce.item(), rel=1e-6)  # gamma 0: cross-entropy
    p = torch.softmax(out, 1)[torch.arange(6), y]
    assert training.focal_loss(out, y).item() == pytest.approx((-(1 - p) ** 2 * p.log()).mean().item(), rel=1e-6)
    hand = sum(max(0.0, 1 - out[i, y[i]].item() + out[i, j].item()) for i in range(6) for j in range(10) if j != y[i])
    assert training.hinge_loss(out, y).item() == pytest.approx(hand / (6 * 10), rel=1e-6)  # summed, over N x classes
    settings = training.TrainSettings(epochs=1, batch_size=8, lr=0.1, label_smoothing=0.0)
    assert training.training_loss(out, y, settings).item() == pytest.approx(ce.item())
    assert training.training_loss(out, y, replace(settings, loss="hinge")).item() == pytest.approx(hand / 60, rel=1e-6)


def test_exploding_loss_raises(splits):
    torch.manual_seed(0)
    settings = training.TrainSettings(epochs=3, batch_size=16, lr=1e3, flip=False)
    with pytest.raises(training.Diverged, match="lower --lr"):
        training.fit(FF_Net(), splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                     log=lambda *a: None)


@pytest.mark.parametrize("batch, sizes", [(64, [64, 64, 64]), (80, [80, 80, 60]), (100, [100, 100])])
def test_epoch_loss_weighs_images_and_a_small_last_batch_is_skipped(splits, batch, sizes):
    # 220 training images: a last batch of 28 of 64 (under half) is skipped, 60 of 80 is kept
    assert len(splits["train"][1]) == 220
    settings = training.TrainSettings(epochs=2, batch_size=batch, lr=0.01, flip=False)
    history = training.fit(FF_Net(hidden=(16,)), splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                           log=lambda *a: None)
    assert len(history["iterations"]) == 2 * len(sizes)
    for epoch, losses in zip(
        history["epochs"], (history["iterations"][: len(sizes)], history["iterations"][len(sizes) :])
    ):
        expected = sum(n * loss for n, loss in zip(sizes, losses)) / sum(sizes)
        assert epoch["train_loss"] == pytest.approx(expected, rel=1e-9)
        assert 0 <= epoch["train_acc"] <= 1


def test_reconstruct_objective_trains_an_autoencoder_on_mse(splits):
    from fmnist.studies.networks import ConvAutoencoder
    torch.manual_seed(0)
    model = ConvAutoencoder()
    settings = training.TrainSettings(epochs=1, batch_size=32, lr=0.01, objective="reconstruct")
    history = training.fit(model, splits["train"], splits["val"], settings, torch.device("cpu"), 0,
                           log=lambda *a: None)
    x_val = splits["val"][0]
    mse = torch.nn.functional.mse_loss(training.predict(model, x_val, torch.device("cpu")), x_val)
    assert history["epochs"][0]["val_loss"] == pytest.approx(mse.item(), rel=1e-5)
    assert history["epochs"][0]["val_acc"] is None and history["epochs"][0]["train_acc"] is None


@pytest.mark.parametrize("name, kind, momentum", [("sgd", torch.optim.SGD, 0.9), ("sgd", torch.optim.SGD, 0.0),
                                                  ("adam", torch.optim.Adam, 0.0),
                                                  ("rmsprop", torch.optim.RMSprop, 0.0)])
def test_optimizer_choice_and_weight_decay_only_on_weights(name, kind, momentum):
    model = FF_Net(hidden=(8,))
    opt = training.make_optimizer(model, training.TrainSettings(epochs=1, batch_size=2, lr=0.1, weight_decay=1e-3,
                                                                optimizer=name, momentum=momentum))
    assert type(opt) is kind
    decayed, plain = opt.param_groups
    assert decayed["weight_decay"] == 1e-3 and plain["weight_decay"] == 0.0
    assert all(p.dim() > 1 for p in decayed["params"]) and all(p.dim() <= 1 for p in plain["params"])
    if name == "sgd":
        assert opt.defaults["nesterov"] == (momentum > 0)


def test_auto_takes_bf16_only_where_the_probe_step_is_faster_in_it(monkeypatch):
    from fmnist.core import device as choice
    cpu = torch.device("cpu")
    state = torch.get_rng_state()
    speedup = choice.bf16_speedup.__wrapped__(cpu, FF_Net, reps=1)  # uncached: really timed here
    assert speedup > 0 and torch.equal(torch.get_rng_state(), state)  # training's random stream untouched
    monkeypatch.setattr(choice, "native_bf16", lambda device: True)
    for measured, chosen in ((0.8, "fp32"), (1.19, "fp32"), (1.2, "bf16"), (1.9, "bf16")):
        monkeypatch.setattr(choice, "bf16_speedup", lambda device, make_model: measured)
        assert choice.pick_precision("auto", cpu, probe=FF_Net) == chosen
        assert choice.pick_precision("fp32", cpu) == "fp32" and choice.pick_precision("bf16", cpu) == "bf16"
    monkeypatch.setattr(choice, "native_bf16", lambda device: False)
    monkeypatch.setattr(
        choice, "bf16_speedup", lambda device, make_model: 9.9
    )  # emulated bf16 is never probed into use
    assert choice.pick_precision("auto", cpu, probe=FF_Net) == "fp32"


def test_bf16_training_keeps_float32_weights_and_learns():
    from fmnist.core.device import pick_precision
    from fmnist.core.training import TrainSettings, fit
    assert pick_precision("fp32", torch.device("cpu")) == "fp32"
    assert pick_precision("auto", torch.device("cpu"), probe=FF_Net) in ("fp32", "bf16")
    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 1, 28, 28, generator=gen), torch.arange(64) % 10
    torch.manual_seed(0)
    model = FF_Net()
    settings = TrainSettings(epochs=8, batch_size=32, lr=0.05, flip=False, precision="bf16")
    history = fit(model, (x, y), (x, y), settings, torch.device("cpu"), seed=0, log=lambda line: None)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert all(b.dtype == torch.float32 for b in model.buffers() if b.is_floating_point())
    assert history["epochs"][-1]["train_loss"] < history["epochs"][0]["train_loss"]


def test_predict_gives_the_same_outputs_whatever_the_batch_size():
    """Evaluation mode computes each image on its own: EVAL_BATCH (chosen for speed) gives the
    outputs of batches of 128 bit for bit, and those of the 1,000 used before to the last bit or
    so: bit for bit on some CPUs, up to 4.7e-8 apart on one whose oneDNN picks other kernels for
    large batches (as odd sizes such as 7 can anywhere)."""
    from cnn import Conv_Net
    torch.manual_seed(0)
    model = Conv_Net()
    model(torch.randn(64, 1, 28, 28))  # one training-mode pass: batch norm statistics that are not the initial ones
    x = torch.randn(600, 1, 28, 28)
    ours = training.predict(model, x, torch.device("cpu"))
    before = training.predict(model, x, torch.device("cpu"), batch_size=1000)
    assert torch.allclose(ours, before, rtol=0, atol=1e-6) and torch.equal(ours.argmax(1), before.argmax(1))
    assert torch.equal(ours, training.predict(model, x, torch.device("cpu"), batch_size=128))


def test_freed_memory_is_kept_only_where_malloc_is_glibc_and_not_when_switched_off(monkeypatch):
    import platform

    memory.keep_freed_memory.cache_clear()
    assert memory.keep_freed_memory() == (platform.libc_ver()[0] == "glibc")
    memory.keep_freed_memory.cache_clear()
    monkeypatch.setenv("FMNIST_MALLOC", "default")
    assert memory.keep_freed_memory() is False
    memory.keep_freed_memory.cache_clear()


def test_flags_become_settings_through_one_function():
    """cli.settings: a flag the user set replaces its field, one left unset keeps the recipe's, a
    flag no field is named after is ignored; fashionmnist.py's per-network recipe goes through it."""
    import argparse

    import fashionmnist
    from fmnist.core import cli
    from fmnist.core.assignment import RECIPES
    from fmnist.studies.study import Options
    flags = argparse.Namespace(epochs=3, batch_size=None, lr=0.05, patience=5, precision="fp32", seed=7, quick=False,
                               out_dir="x")
    cnn = cli.settings(RECIPES["cnn"], flags)
    assert (cnn.epochs, cnn.batch_size, cnn.lr, cnn.precision, cnn.flip) == (
        3,
        RECIPES["cnn"].batch_size,
        0.05,
        "fp32",
        True,
    )
    assert fashionmnist.settings_for("cnn", flags) == cnn
    quick = fashionmnist.settings_for("ffn", argparse.Namespace(**{**vars(flags), "epochs": None, "quick": True}))
    assert quick.epochs == fashionmnist.QUICK_EPOCHS and quick.flip is False and quick.lr == 0.05
    assert cli.settings(Options(), flags) == Options(seed=7, epochs=3)
    assert cli.settings(RECIPES["ffn"], {"precision": "bf16"}) == replace(RECIPES["ffn"], precision="bf16")
