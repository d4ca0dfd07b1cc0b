"""What the networks tie to each class's pattern, against oracles: class images from noise
(fmnist/analysis/from_noise.py) and class-averaged gradients (averaged.py) through a linear
network whose gradient is known and a network that ignores its input; their words and the
synthesis line on made-up numbers both ways."""
import numpy as np
import torch
from torch import nn

from fmnist.analysis import averaged, from_noise, synthesis
from fmnist.analysis.from_noise import NoiseRecipe, class_images, frequency_scale, noise_words, read, shifted

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
    seen = read(class_images(linear, classes, recipe, CPU), linear, x, y, classes, CPU)
    assert seen["own"] == len(classes) and seen["p"] < 1e-10  # each climbs its own class's gradient
    assert min(seen["probability"]) > 0.9
    blind = class_images(Blind(), classes, recipe, CPU)
    start = from_noise.to_image(  # the noise every climb starts from, by the recipe's seed
        torch.randn(len(classes), 1, 28, 15, 2, generator=torch.Generator().manual_seed(recipe.seed)) * recipe.start,
        frequency_scale(28, 28, recipe.decay), (28, 28))
    assert torch.allclose(blind, start, atol=1e-6)  # no gradient: the image is the noise it started from
    assert read(blind, linear, x, y, classes, CPU)["own"] < len(classes) // 2


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


def _numbers(own: int, control: int, images: int = 30, p: float | None = None) -> dict:
    classes = [k for k in range(10) for _ in range(images // 10)]
    looks = [c if i < own else (c + 1) % 10 for i, c in enumerate(classes)]
    from scipy import stats
    return {"trained": {"classes": classes, "looks_like": looks, "own": own, "images": images, "chance": images / 10,
                        "p": p if p is not None else float(stats.binom.sf(own - 1, images, 0.1)),
                        "probability": [0.95] * images, "own_correlation": [0.1] * images},
            "untrained": {"classes": classes, "looks_like": looks, "own": control, "images": images,
                          "chance": images / 10, "p": 0.5, "probability": [0.1] * images,
                          "own_correlation": [0.0] * images}}


def test_the_words_credit_the_network_only_beyond_chance_and_beyond_the_untrained_network():
    strong = _numbers(own=12, control=3)
    assert "The network, not the recipe, put the class structure there" in noise_words(
        "CNN", strong["trained"], strong["untrained"], NAMES)
    at_chance = _numbers(own=4, control=3)  # p of 4 or more of 30 at 0.1 is about 0.35
    assert "no class structure beyond the recipe's" in noise_words("CNN", at_chance["trained"],
                                                                  at_chance["untrained"], NAMES)
    matched = _numbers(own=12, control=12)  # beyond chance, but the untrained network draws as many
    assert "no class structure beyond the recipe's" in noise_words("CNN", matched["trained"], matched["untrained"],
                                                                  NAMES)
    line = synthesis.from_noise({"ffn": at_chance, "cnn": strong})
    assert "the CNN puts class structure in them" in line and "the FFN no more than those" in line
    assert "neither shows" in synthesis.from_noise({"ffn": at_chance, "cnn": matched})
    assert np.isclose(strong["trained"]["chance"], 3.0)


def test_a_linear_network_s_class_averaged_gradient_is_its_weights_and_reads_as_its_classes():
    x, y, patterns = _planted()
    linear = Linear(patterns)
    right = torch.ones(len(y), dtype=torch.bool)
    right[y == 3] = False  # a class with nothing correctly classified averages nothing
    right[(y == 3).nonzero()[0]] = True
    maps, counts = averaged.class_averaged(linear, x, y, right, CPU, per_class=5)
    assert counts == [5, 5, 5, 1, 5, 5, 5, 5, 5, 5]
    assert torch.allclose(maps, patterns, atol=1e-5)  # d <w_k, x> / dx = w_k on every image
    seen = averaged.read(maps, x, y)
    assert seen["own"] == 10 and min(seen["own_correlation"]) > 0.5
    blind, _ = averaged.class_averaged(Blind(), x, y, right, CPU, per_class=5)
    assert torch.count_nonzero(blind) == 0


def test_the_averaged_words_credit_the_training_only_beyond_the_re_drawn_copy():
    def n(own: int, r: float) -> dict:
        return {"own_correlation": [r] * 10, "own": own, "classes": list(range(10)), "looks_like": [0] * 10}
    assert "beyond what the architecture and the images alone give" in averaged.averaged_words("FFN", n(8, 0.2),
                                                                                               n(0, 0.0))
    assert "no more than the re-drawn copy's" in averaged.averaged_words("FFN", n(8, 0.2), n(8, 0.3))
    assert "no more than the re-drawn copy's" in averaged.averaged_words("FFN", n(2, 0.2), n(3, 0.1))
