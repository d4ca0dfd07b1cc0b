"""What the networks see, by optimisation: class models, channel visualisations, saliency and
targeted fooling against what each promises, on small hand-made networks."""
import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn

from fmnist.analysis import ascent, attribution, fooling
from fmnist.core import guided
from fmnist.core.layers import field_window, receptive_fields

CPU = torch.device("cpu")

FAST = ascent.Ascent(max_steps=150)


def _linear(seed=0):
    """A linear classifier whose templates are smooth (like a trained network's, unlike random
    pixels, which the low-pass view of the image would wash out)."""
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


def _data(n=64, seed=1):
    """Image-like (smooth) inputs in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    return nn.functional.interpolate(torch.randn(n, 1, 7, 7, generator=gen), size=28, mode="bilinear").clamp(-1, 1)


@pytest.mark.slow
def test_a_class_model_reaches_its_goal_from_the_data_and_repeats_exactly():
    model, x = _linear(), _data(200)
    y = model(x).argmax(1)
    means = torch.stack([x[y == k].mean(0) if (y == k).any() else x.mean(0) for k in range(10)])
    best = torch.stack([model(x)[:, k].max() for k in range(10)]).detach()
    r = ascent.class_models(model, means, best, FAST)
    assert r["predicted"].tolist() == list(range(10)) and (r["probability"] >= FAST.goal).all() and r["reached"].all()
    assert r["images"].min() >= -1 and r["images"].max() <= 1
    assert set(r["strength"].tolist()) <= set(FAST.strengths)
    again = ascent.class_models(model, means, best, FAST)
    assert torch.equal(r["images"], again["images"])  # nothing random


def test_the_ladder_keeps_the_strongest_prior_that_reaches_the_goal():
    data = torch.full((3, 1, 28, 28), -1.0)  # pulled towards black; the score is the mean brightness
    goals = torch.tensor([-0.9, -0.5, 2.0])   # easy, harder, out of reach (a mean above 1 is impossible)
    s = ascent.Ascent(strengths=(10.0, 1.0, 0.1), max_steps=300)
    score = lambda x, rows: x.mean((1, 2, 3))  # noqa: E731
    reached = lambda x, rows: x.mean((1, 2, 3)) >= goals[rows]  # noqa: E731
    r = ascent.ladder(score, reached, data, s)
    assert r["reached"].tolist() == [True, True, False] and r["strength"][2] == 0.1  # the weakest, kept though short
    for i in range(2):  # each image's strength reaches its goal, and the next stronger one does not
        k = s.strengths.index(float(r["strength"][i]))
        assert r["images"][i].mean() >= goals[i]
        if k > 0:
            stronger, _ = ascent.climb(lambda x: score(x, None), data[i:i + 1], s.strengths[k - 1], s)
            assert stronger.mean() < goals[i]
    assert r["strength"][0] >= r["strength"][1]  # an easier goal keeps at least as much prior


def test_the_stop_rule_waits_for_a_plateau():
    assert not ascent.plateaued([float(i) for i in range(60)], 25, 1e-3)  # still rising
    assert ascent.plateaued([1.0] * 50, 25, 1e-3) and not ascent.plateaued([1.0] * 49, 25, 1e-3)
    assert ascent.plateaued([float(min(i, 10)) for i in range(80)], 25, 1e-3)


def test_lowpass_keeps_a_constant_and_smooths_a_dot():
    flat = torch.full((1, 1, 28, 28), 0.3)
    assert torch.allclose(ascent.lowpass(flat, 1.0), flat)
    dot = torch.zeros(1, 1, 28, 28)
    dot[0, 0, 14, 14] = 1.0
    out = ascent.lowpass(dot, 1.0)
    assert (
        out.sum() == pytest.approx(1.0)
        and out.max() < 0.2
        and ascent.total_variation(out) < ascent.total_variation(dot)
    )


@pytest.mark.slow
def test_a_channel_visualisation_reaches_its_best_test_value_inside_its_unit_s_field():
    model, batch = _Conv().eval(), _data()
    unit = ascent.centre_unit(model.features, "relu2", CPU)
    best = ascent.unit_values(model.features, batch, "relu2", [0, 3, 5], unit).amax(0)
    r = ascent.channel_visuals(model, "relu2", [0, 3, 5], batch.mean(0, keepdim=True), best, FAST)
    assert (r["activation"][r["reached"]] >= best[r["reached"]]).all() and r["reached"].any()
    field = receptive_fields(model.features)["relu2"]
    assert r["unit"] == [7, 7] and r["box"] == [*field_window(field, 7, 7), field["size"]] == [11, 11, 8]
    top, left, size = r["box"]  # far outside the field (beyond the blur's reach, twice) the image is its start
    reach = 2 * math.ceil(2 * FAST.sigma)
    far = torch.ones(28, 28, dtype=torch.bool)
    far[top - reach:top + size + reach, left - reach:left + size + reach] = False
    start = ascent.lowpass(batch.mean(0, keepdim=True), FAST.sigma).clamp(-1, 1)[0, 0]
    for image in r["images"][:, 0]:
        assert torch.allclose(image[far], start[far], atol=1e-6)
        assert not torch.allclose(image[~far], start[~far], atol=1e-3)


@pytest.mark.parametrize("stage,unit", [("relu1", (7, 7)), ("relu2", (3, 3)), ("relu3", (1, 1)), ("relu2", (0, 6))])
def test_a_unit_s_crop_is_exactly_the_pixels_it_depends_on(stage, unit):
    """The oracle: the pixels with a non-zero gradient of one unit, on the shipped CNN made to pass
    every gradient (average pools, positive weights, positive inputs: no ReLU or pool blocks any)."""
    from cnn import Conv_Net
    model = Conv_Net().eval()
    for name, layer in model.features.named_children():
        if isinstance(layer, nn.MaxPool2d):
            setattr(model.features, name, nn.AvgPool2d(2))
        elif isinstance(layer, nn.Conv2d):
            layer.weight.data.abs_().add_(0.01)
    x = torch.rand(1, 1, 28, 28).add(0.1).requires_grad_(True)
    guided.stage_output(model.features, x, stage)[0, :, unit[0], unit[1]].sum().backward()
    rows, cols = (x.grad[0, 0] != 0).nonzero(as_tuple=True)
    field = receptive_fields(model.features)[stage]
    top, left = field_window(field, *unit)
    size = field["size"]
    assert (int(rows.min()), int(rows.max())) == (max(top, 0), min(top + size, 28) - 1)
    assert (int(cols.min()), int(cols.max())) == (max(left, 0), min(left + size, 28) - 1)


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
    far = {"mean": -0.5, "low": -0.7, "high": -0.3} if cnn_less else {"mean": 2.0, "low": 1.5, "high": 2.5}
    assert fooling.fooling_sentence(medians, far).startswith(f"The {less} needs the smaller change")
    near = {"mean": 0.1, "low": -0.2, "high": 0.4}
    assert fooling.fooling_sentence(medians, near).startswith("No difference detected in the change each network needs")


def test_the_median_difference_interval_matches_its_samples():
    from fmnist.core import stats
    rng = np.random.default_rng(0)
    a, b = rng.normal(1.0, 0.3, 100), rng.normal(1.6, 0.3, 100)
    d = stats.median_difference(a, b)
    assert d["mean"] == pytest.approx(np.median(b) - np.median(a)) and d["low"] < d["mean"] < d["high"]
    assert stats.excludes_zero(d) and 0.4 < d["low"] and d["high"] < 0.8
    same = stats.median_difference(a, rng.permutation(a))  # one sample twice: a difference of 0
    assert not stats.excludes_zero(same)
    one = stats.median_interval(b)
    assert one["mean"] == pytest.approx(np.median(b)) and one["low"] < one["mean"] < one["high"] and one["n"] == 100
    assert 1.4 < one["low"] and one["high"] < 1.8  # the median of N(1.6, 0.3) from 100 draws, within about 0.1


def test_signed_maps_share_one_symmetric_scale():
    from fmnist.core.plotting import signed
    maps = np.array([[[-2.0, 0.0], [1.0, 4.0]], [[0.5, -0.5], [0.0, 100.0]]])
    out = signed(maps)
    scale = np.percentile(np.abs(maps), 99)
    assert np.allclose(out, np.clip(maps / scale, -1, 1)) and out.max() == 1.0
    assert (np.sign(out) == np.sign(maps)).all()  # 0 stays 0, red stays red, blue stays blue


def test_fgsm_and_pgd_never_beat_the_exact_attack_on_a_linear_model_and_come_close():
    """The oracle: a linear model's L-infinity robustness is exact. An image of class y survives
    every change of size eps iff (w_y - w_j) . x + b_y - b_j > eps ||w_y - w_j||_1 for all j != y
    (inputs in [-0.5, 0.5], eps <= 0.3: the [-1, 1] box never binds)."""
    model = _linear(3)
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(400, 1, 28, 28, generator=gen) - 0.5
    y = model(x).argmax(1)  # every image starts right
    w, b = model[1].weight.detach(), model[1].bias.detach()
    epsilons = [0.0, 0.005, 0.01, 0.02, 0.05]
    fgsm = fooling.linf_attacks(model, x, y, epsilons, 1, CPU, batch_size=128)
    pgd = fooling.linf_attacks(model, x, y, epsilons, 10, CPU, batch_size=128)
    for k, eps in enumerate(epsilons):
        gap = (w[y] @ x.flatten(1).T).diagonal()[:, None] - x.flatten(1) @ w.T + (b[y][:, None] - b[None])  # (N, 10)
        need = eps * (w[y][:, None, :] - w[None]).abs().sum(-1)                                               # (N, 10)
        others = torch.ones_like(gap, dtype=torch.bool)
        others[torch.arange(len(y)), y] = False
        exact = float(((gap > need) | ~others).all(1).float().mean())
        assert fgsm[k] >= exact - 1e-6 and pgd[k] >= exact - 1e-6
        assert (
            pgd[k] <= fgsm[k] + 1e-6 and pgd[k] <= exact + 0.1
        )  # cross-entropy's gradient mixes the classes' directions
    assert fgsm[0] == pgd[0] == 1.0 and pgd == sorted(pgd, reverse=True)
    assert fooling.linf_attacks(model, x, y, epsilons, 10, CPU, restarts=0, batch_size=128) == fgsm  # FGSM comes first


def test_shrinking_a_fooling_change_stops_at_the_decision_boundary():
    model = _linear()
    x = (torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(5)) - 0.5) * 0.5
    targets = (model(x).argmax(1) + 1) % 10
    r = fooling.targeted(model, x, targets, steps=300, step_size=0.1, halvings=12)
    far = fooling.targeted(model, x, targets, steps=300, step_size=0.1, halvings=0)  # the change as the steps left it
    assert r["reached"].all() and (r["l2"] <= far["l2"] + 1e-6).all() and (r["l2"] < far["l2"]).any()
    with torch.no_grad():  # a little less of each change no longer gives the target
        less = model(x + (1 - 2 ** -10) * r["change"]).argmax(1)
    assert (less != targets).all()


def test_pgd_with_random_restarts_never_scores_above_fgsm_on_a_nonlinear_network():
    from cnn import Conv_Net
    torch.manual_seed(0)
    model = Conv_Net().eval()
    x = torch.rand(48, 1, 28, 28, generator=torch.Generator().manual_seed(1)) * 2 - 1
    y = model(x).argmax(1)
    epsilons = [0.0, 0.002, 0.01, 0.05]
    fgsm = fooling.linf_attacks(model, x, y, epsilons, 1, CPU)
    pgd = fooling.linf_attacks(model, x, y, epsilons, 20, CPU, restarts=2, seed=3)
    assert all(p <= f + 1e-9 for p, f in zip(pgd, fgsm)) and pgd[0] == fgsm[0] == 1.0
    assert pgd == sorted(pgd, reverse=True)


def test_a_network_that_ignores_the_image_adds_nothing_to_its_control():
    """The control is the same recipe without the network: for a network whose logits do not depend
    on the image, the class model is its control, pixel for pixel."""
    blind = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        blind[1].weight.zero_()
        blind[1].bias.zero_()
    means = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    s = ascent.Ascent(strengths=(1.0, 0.1), max_steps=60)
    r = ascent.class_models(blind, means, torch.ones(3), s)
    control = ascent.prior_only(means, r["strength"], s)
    assert torch.equal(r["images"], control) and not r["reached"].any()
    assert not torch.equal(control, means)  # the recipe alone moves the image (the blur, the regulariser)


def test_the_control_sentence_says_what_the_network_added():
    from fmnist.analysis.optimised import control_words
    n = {"control_change": [3.0, 4.0], "change": [3.5, 5.0], "from_control": [1.0, 2.0],
         "control_probability": [0.95, 0.2]}
    words = control_words(n, 0.9)
    assert "moves the blurred means by 3.0-4.0 in L2 (the class models move them 3.5-5.0)" in words
    assert "lie 1.0-2.0 from those images (median 1.5, less than the recipe alone moves them)" in words
    assert words.endswith("gives 1 of the 2 no-network images their class at 0.9 already.")
    more = control_words({**n, "from_control": [5.0, 6.0], "control_probability": [0.1, 0.2]}, 0.9)
    assert "(median 5.5, more than the recipe alone moves them)" in more and "gives 0 of the 2" in more


def test_the_paired_fooling_sentence_takes_its_side_from_the_per_image_differences():
    medians = {"FFN": (1.5, 0.3), "CNN": (1.4, 0.3)}  # the medians barely differ ...
    paired = {"mean": 0.4, "low": 0.2, "high": 0.6, "n": 90, "paired": True}  # ... image by image the CNN needs more
    words = fooling.fooling_sentence(medians, paired)
    assert words.startswith("The FFN needs the smaller change")
    assert "the median per-image difference, CNN minus FFN, is +0.40 in L2 over the 90 images both were fooled on " \
           "(95 % bootstrap interval +0.20 to +0.60)" in words
    none = fooling.fooling_sentence(medians, {**paired, "low": -0.1})
    assert none.startswith("No difference detected")


def test_a_probability_short_of_the_goal_never_shows_as_the_goal():
    from fmnist.analysis.figures import floor2
    shown = [floor2(p) for p in (0.8996, 0.9, 0.96, 0.999, 0.29, 0.0)]
    assert shown == ["0.89", "0.90", "0.96", "0.99", "0.29", "0.00"]
