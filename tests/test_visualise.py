"""What the networks see, by optimisation: class models, channel visualisations, saliency and
targeted fooling against what each promises, on small hand-made networks."""
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from fmnist.analysis import ascent, attribution, fooling

FAST = ascent.Ascent(steps=60)


def _linear(seed=0):
    """A linear classifier whose templates are smooth (like a trained network's, unlike random
    pixels, which the regularisers' shifts and blur would wash out)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval()
    smooth = nn.functional.interpolate(torch.randn(10, 1, 7, 7), size=28, mode="bilinear", align_corners=False)
    with torch.no_grad():
        model[1].weight.copy_(0.05 * smooth.flatten(1))
    return model


class _Conv(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(OrderedDict([("conv1", nn.Conv2d(1, 4, 3, padding=1)), ("relu1", nn.ReLU()),
                                                   ("pool1", nn.MaxPool2d(2)), ("conv2", nn.Conv2d(4, 6, 3, padding=1)),
                                                   ("relu2", nn.ReLU())]))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(6 * 14 * 14, 10))

    def forward(self, x):
        return self.head(self.features(x))


def test_a_class_model_raises_its_logit_far_above_grey_and_is_its_class():
    model = _linear()
    r = ascent.class_models(model, 10, FAST, torch.device("cpu"))
    gain = r["logit"] - r["grey_logit"]
    assert (gain > 5).all()  # far above the grey start, every class
    assert r["predicted"].tolist() == list(range(10)) and (r["probability"] > 0.9).all()
    assert r["images"].min() >= -1 and r["images"].max() <= 1


def test_the_same_seed_gives_the_same_images():
    a = ascent.class_models(_linear(), 10, FAST, torch.device("cpu"))["images"]
    b = ascent.class_models(_linear(), 10, FAST, torch.device("cpu"))["images"]
    c = ascent.class_models(_linear(), 10, ascent.Ascent(steps=60, seed=1), torch.device("cpu"))["images"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_a_channel_visualisation_beats_every_image_of_a_test_batch():
    model = _Conv().eval()
    gen = torch.Generator().manual_seed(1)  # a batch of image-like (smooth) inputs in [-1, 1]
    batch = nn.functional.interpolate(torch.randn(64, 1, 7, 7, generator=gen), size=28, mode="bilinear").clamp(-1, 1)
    means = ascent.channel_means(model, batch, "relu2")
    r = ascent.channel_visuals(model, "relu2", [0, 3, 5], ascent.Ascent(steps=80, l2=0.01), torch.device("cpu"))
    assert (r["activation"] > means[:, [0, 3, 5]].amax(0)).all()
    assert ascent.crop(r["images"][0, 0], 10).shape == (10, 10)


def test_saliency_is_the_signed_gradient_of_the_logit():
    model = _linear()
    x = torch.rand(3, 1, 28, 28) * 2 - 1
    s = attribution.logit_gradient(model, x, torch.tensor([1, 4, 7]))
    weight = model[1].weight.detach()
    assert torch.allclose(s, weight[[1, 4, 7]].view(3, 1, 28, 28))  # d(w.x + b)/dx = w, by hand, sign kept


def test_targeted_fooling_reaches_its_target_within_range_and_reports_its_sizes():
    model = _linear()
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    targets = (model(x).argmax(1) + 3) % 10
    r = fooling.targeted(model, x, targets, steps=300, step_size=0.1)
    assert r["reached"].all() and torch.equal(model(r["images"]).argmax(1), targets)
    assert r["images"].min() >= -1 and r["images"].max() <= 1
    assert torch.allclose(r["l2"], r["change"].flatten(1).norm(dim=1))
    assert torch.allclose(r["linf"], r["change"].flatten(1).abs().amax(dim=1))
    assert torch.allclose(r["images"], x + r["change"])


def test_targeted_fooling_of_a_batch_equals_each_image_alone():
    model = _linear()
    x = torch.rand(6, 1, 28, 28) * 2 - 1
    targets = (model(x).argmax(1) + torch.arange(1, 7)) % 10
    batch = fooling.targeted(model, x, targets, steps=300, step_size=0.1)
    for i in range(6):
        alone = fooling.targeted(model, x[i:i + 1], targets[i:i + 1], steps=300, step_size=0.1)
        assert int(alone["steps"][0]) == int(batch["steps"][i])
        assert torch.allclose(alone["images"][0], batch["images"][i], atol=1e-6)
    assert len(set(batch["steps"].tolist())) > 1  # the images needed different numbers of steps


def test_most_confused_reads_the_largest_off_diagonal_entry():
    c = [[50, 3, 9], [1, 40, 2], [7, 8, 30]]
    assert fooling.most_confused(c) == [2, 2, 1]


@pytest.mark.parametrize("cnn_less", [False, True])
def test_the_fooling_sentence_follows_the_sizes(cnn_less):
    medians = {"FFN": (1.0, 0.2), "CNN": (0.5, 0.1) if cnn_less else (3.0, 0.6)}
    sentence = fooling.fooling_sentence(medians)
    less = "CNN" if cnn_less else "FFN"
    assert sentence.startswith(f"The {less} needs the smaller change")
    assert ("2.0 times" in sentence) if cnn_less else ("3.0 times" in sentence)


def test_signed_maps_share_one_symmetric_scale():
    from fmnist.core.plotting import signed
    maps = np.array([[[-2.0, 0.0], [1.0, 4.0]], [[0.5, -0.5], [0.0, 100.0]]])
    out = signed(maps)
    scale = np.percentile(np.abs(maps), 99)
    assert np.allclose(out, np.clip(maps / scale, -1, 1)) and out.max() == 1.0
    assert (np.sign(out) == np.sign(maps)).all()  # 0 stays 0, red stays red, blue stays blue
