"""What the networks tie to each class's pattern, against oracles: class images from noise
(fmnist/analysis/from_noise.py) and class-averaged gradients (averaged.py) through a linear
network whose gradient is known and a network that ignores its input; their words and the
synthesis line on made-up numbers both ways."""
import torch
from torch import nn

from fmnist.analysis import averaged, from_noise, synthesis
from fmnist.analysis.from_noise import NoiseRecipe, class_images, frequency_scale, noise_words, read, shifted
from fmnist.core.metrics import class_patterns

CPU = torch.device("cpu")
NAMES = [f"class {k}" for k in range(10)]


def _planted(per_class: int = 20, seed: int = 0):
    """Images whose classes differ by one planted pattern each (plus noise), and the patterns."""
    gen = torch.Generator().manual_seed(seed)
    patterns = torch.randn(10, 1, 28, 28, generator=gen)
    y = torch.arange(10).repeat_interleave(per_class)
    x = (0.5 * patterns[y] + 0.3 * torch.randn(len(y), 1, 28, 28, generator=gen)).clamp(-1, 1)
    return x, y, patterns


class Linear(nn.Module):
    """logit k = <pattern k, x>: the gradient of class k's logit is its pattern, whatever x is."""
    def __init__(self, patterns: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(patterns.flatten(1).clone(), requires_grad=False)

    def forward(self, x):
        return x.flatten(1) @ self.w.T


class Blind(nn.Module):
    """The same logits whatever the image: nothing for the climb to follow."""
    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return (0 * x.flatten(1).sum(1, keepdim=True)) + self.bias


def test_a_linear_network_s_class_images_look_like_its_classes_and_a_blind_one_s_stay_noise():
    x, y, patterns = _planted()
    recipe = NoiseRecipe(steps=60, starts=2)
    classes = [k for k in range(10) for _ in range(recipe.starts)]
    linear = Linear(patterns)
    seen = read(class_images(linear, classes, recipe, CPU), linear, class_patterns(x, y), classes, CPU)
    assert seen["own"] == len(classes) and seen["p"] == 1 / (1 + from_noise.PERMUTATIONS)
    assert min(seen["trained_probability"]) > 0.9
    blind = class_images(Blind(), classes, recipe, CPU)
    start = from_noise.to_image(  # the noise every climb starts from, by the recipe's seed
        torch.randn(len(classes), 1, 28, 15, 2, generator=torch.Generator().manual_seed(recipe.seed)) * recipe.start,
        frequency_scale(28, 28, recipe.decay), (28, 28))
    assert torch.allclose(blind, start, atol=1e-6)  # no gradient: the image is the noise it started from
    assert read(blind, linear, class_patterns(x, y), classes, CPU)["own"] < len(classes) // 2


def test_a_shift_moves_the_image_and_the_middle_offset_leaves_it():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert torch.equal(shifted(x, 1, 1, 1), x)
    moved = shifted(x, 2, 1, 1)  # one row down in the padded image: the image moves up by one
    assert torch.equal(moved[..., :3, :], x[..., 1:, :]) and torch.equal(moved[..., 3, :], x[..., 3, :])


def test_the_constant_term_gets_the_lowest_frequency_s_scale_and_higher_frequencies_less():
    s = frequency_scale(28, 28, 1.5)
    assert s.shape == (28, 15)
    assert torch.isclose(s[0, 0], s[0, 1]) and torch.isclose(s[0, 1], torch.tensor(28.0 ** 1.5))
    assert s[0, 14] < s[0, 2] < s[0, 1]


def _numbers(own_classes: int, control_classes: int, starts: int = 3, p: float = 0.001, paired: float = 0.01) -> dict:
    """Made-up numbers: every start of the first `own_classes` classes looks like its class (and of
    the first `control_classes` for the untrained network), the rest like the next class."""
    classes = [k for k in range(10) for _ in range(starts)]

    def side(n: int, chance_p: float) -> dict:
        looks = [c if c < n else (c + 1) % 10 for c in classes]
        return {"classes": classes, "looks_like": looks, "own": n * starts, "images": len(classes),
                "chance": len(classes) / 10, "p": chance_p, "own_share": [1.0 if c < n else 0.0 for c in range(10)],
                "trained_probability": [0.95] * len(classes), "own_correlation": [0.1] * len(classes)}
    return {"trained": side(own_classes, p), "untrained": side(control_classes, 0.5), "paired_p": paired}


def test_the_chance_p_takes_the_class_as_the_unit_and_the_paired_p_flips_classes():
    x, y, _ = _planted()
    classes = [k for k in range(10) for _ in range(3)]
    images = torch.stack([x[y == c][0] for c in classes])  # each image its class's first: 30 of 30 look like theirs
    seen = read(images, Blind(), class_patterns(x, y), classes, CPU)
    assert seen["own"] == 30 and seen["own_share"] == [1.0] * 10
    assert seen["p"] == 1 / (1 + from_noise.PERMUTATIONS)  # no relabelling of 10 classes does as well
    three = {**seen, "own_share": [1.0, 1.0, 1.0] + [0.0] * 7}  # 3 whole classes: 9 images, 3 units
    none = {**seen, "own_share": [0.0] * 10}
    assert from_noise.paired_p(three, none) == 1 / 8  # exact: 3 classes of +1, 2^3 sign patterns of them
    assert from_noise.paired_p(none, three) == 1.0


def test_the_words_credit_the_network_only_beyond_chance_and_beyond_the_untrained_network():
    strong = _numbers(own_classes=4, control_classes=1)
    assert "The network, not the recipe, put the class structure there" in noise_words("CNN", strong, NAMES)
    assert "every start for class 0, class 1, class 2 and class 3" in noise_words("CNN", strong, NAMES)
    at_chance = _numbers(own_classes=1, control_classes=1, p=0.4, paired=0.5)
    assert "no more than chance gives" in noise_words("CNN", at_chance, NAMES)
    matched = _numbers(own_classes=4, control_classes=4, paired=0.6)  # beyond chance, the untrained one as far
    assert "no verdict that the training put it there" in noise_words("CNN", matched, NAMES)
    matched["untrained"]["p"] = 0.01
    assert "and so are the untrained network's (p = 0.01)" in noise_words("CNN", matched, NAMES)
    line = synthesis.from_noise({"ffn": at_chance, "cnn": strong})
    assert "the CNN beyond chance and beyond the untrained network; the FFN no more than chance" in line
    matched["untrained"]["p"] = 0.5
    assert "the CNN beyond chance but not told apart" in synthesis.from_noise({"ffn": at_chance, "cnn": matched})


def test_a_linear_network_s_class_averaged_gradient_is_its_weights_and_reads_as_its_classes():
    x, y, patterns = _planted()
    linear = Linear(patterns)
    right = torch.ones(len(y), dtype=torch.bool)
    right[(y == 5).nonzero()[0]] = False  # one wrong image: the next right ones are taken
    right[y == 3] = False  # a class with nothing correctly classified has no map
    maps, counts = averaged.class_averaged(linear, x, y, right, CPU, per_class=5)
    assert counts == [5, 5, 5, 0, 5, 5, 5, 5, 5, 5]
    keep = torch.arange(10) != 3
    assert torch.allclose(maps[keep], patterns[keep], atol=1e-5)  # d <w_k, x> / dx = w_k on every image
    seen = averaged.read(maps, class_patterns(x, y), counts)
    assert seen["own"] == 9 and seen["measured"] == 9 and seen["own_correlation"][3] is None
    assert min(v for v in seen["own_correlation"] if v is not None) > 0.5
    words = averaged.averaged_words("FFN", seen, {**seen, "own": 0, "own_correlation": [0.0] * 3 + [None] + [0.0] * 6})
    assert "9 of 9 classes (chance: 1) (1 with no correctly classified image left out)" in words
    blind, _ = averaged.class_averaged(Blind(), x, y, right, CPU, per_class=5)
    assert torch.count_nonzero(blind) == 0


def test_the_averaged_words_credit_the_training_only_beyond_the_re_drawn_copy():
    def n(own: int, r: float) -> dict:  # the first `own` classes' maps point at their own class
        return {"own_correlation": [r] * 10, "own": own, "classes": list(range(10)), "measured": 10,
                "looks_like": [k if k < own else (k + 1) % 10 for k in range(10)]}
    words = averaged.averaged_words("FFN", n(8, 0.2), n(0, 0.0))
    assert "every layer re-drawn, 0 of 10 (median r = 0.00; the trained network's ahead, p = 0.0039)." in words
    assert "p = 0.0039" in words  # 1/2^8
    assert "re-drawn, 8 of 10 (median r = 0.30; no difference detected, p = 1)" in averaged.averaged_words(
        "FFN", n(8, 0.2), n(8, 0.3))
    assert "no difference detected, p = 0.062" in averaged.averaged_words("FFN", n(4, 0.2), n(0, 0.1))  # 1/16
    assert "negatively with its own for" not in words
    assert "negatively with its own for T-shirt/top" in averaged.averaged_words("FFN", {**n(8, 0.2), "own_correlation":
                                                                                     [-0.1] + [0.2] * 9}, n(0, 0.0))
    # the shuffled-label network, the stronger control, both ways: it learned nothing of the classes ...
    shuffled = lambda own: {**n(own, 0.0), "trained_on": 500}  # noqa: E731
    words = averaged.averaged_words("FFN", n(8, 0.2), n(0, 0.0), shuffled(0))
    assert "; trained on 500 images with shuffled labels, 0 of 10 (median r = 0.00; the trained network's ahead, " \
           "p = 0.0039)." in words
    # ... or its class averages point at their classes as often as the trained network's
    words = averaged.averaged_words("FFN", n(8, 0.2), n(0, 0.0), shuffled(8))
    assert "re-drawn, 0 of 10 (median r = 0.00; the trained network's ahead, p = 0.0039)" in words
    assert "shuffled labels, 8 of 10 (median r = 0.00; no difference detected, p = 1)." in words
