"""Class images from noise (analyze.py), by the recipe of Olah, Mordvintsev and Schubert's
Feature Visualization (Distill 2017), beside its control.

The image is parameterised by its Fourier coefficients, each scaled by 1 / frequency (a
decorrelated parameterisation: every frequency moves at a comparable rate, so the climb does
not fill the image with pixel-sized noise first), squashed into [-1, 1] by tanh; the
coefficients start as small random numbers; at every step the image is shifted by a random
offset of up to `jitter` pixels before the network sees it (transformation robustness: what
survives a shift is a feature, not one exact pattern of pixels). Adam raises the class's logit
for a fixed number of steps. Nothing pulls the image towards the data, so whatever class
structure it shows came from the network, and the control says how much: the same recipe, the
same noise, on an untrained network of the same architecture.

What an image shows is read against the data: its correlation with each class's mean test
image minus the mean of every test image (what is particular to each class); an image
"looks like" the class whose particular pattern it correlates with most. Chance: 1 in 10. The
starts of one class share its objective, so the class, not the image, is the unit of every p.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fmnist.analysis import pattern_figures
from fmnist.core.assignment import MODELS
from fmnist.core.data import CLASSES
from fmnist.core.metrics import class_patterns, pattern_correlation
from fmnist.core.pages import Page
from fmnist.core.words import listing


@dataclass(frozen=True)
class NoiseRecipe:
    steps: int = 128       # Adam steps (a fixed number: the logit keeps rising, there is no goal to stop at)
    lr: float = 0.05
    jitter: int = 1        # pixels of random shift, each way, before every step
    decay: float = 1.5     # the coefficients' scale: 1 / frequency ** decay
    starts: int = 3        # images per class, each from its own noise
    start: float = 0.01    # the standard deviation of the random coefficients it starts from
    seed: int = 0

    def describe(self) -> str:
        return (f"Adam (lr {self.lr:g}, {self.steps} steps) on Fourier coefficients scaled by 1/frequency"
                f"{f'^{self.decay:g}' if self.decay != 1 else ''}, through tanh into [-1, 1], from random "
                f"coefficients (sd {self.start:g}, seed {self.seed}, {self.starts} starts a class); a random shift of "
                f"up to {self.jitter} px each way before every step; objective: the class's logit, nothing else")


def frequency_scale(h: int, w: int, decay: float) -> torch.Tensor:
    """(h, w // 2 + 1): 1 / frequency ** decay of rfft2's coefficients, the constant term given the
    lowest nonzero frequency's scale."""
    f = (torch.fft.fftfreq(h)[:, None] ** 2 + torch.fft.rfftfreq(w)[None] ** 2).sqrt()
    return f.clamp(min=1.0 / max(h, w)) ** -decay


def to_image(spectrum: torch.Tensor, scale: torch.Tensor, size: tuple) -> torch.Tensor:
    """(N, 1, H, W//2+1, 2) real and imaginary parts -> (N, 1, H, W) images in [-1, 1]."""
    return torch.tanh(torch.fft.irfft2(torch.view_as_complex(spectrum) * scale, s=size, norm="ortho"))


def shifted(x: torch.Tensor, dy: int, dx: int, k: int) -> torch.Tensor:
    """x moved by (dy - k, dx - k) pixels, its edges replicated into the space it leaves."""
    h, w = x.shape[-2:]
    return F.pad(x, (k, k, k, k), mode="replicate")[..., dy:dy + h, dx:dx + w]


def class_images(model: nn.Module, classes: list[int], recipe: NoiseRecipe, device, size=(28, 28)) -> torch.Tensor:
    """One image per class in `classes` (K, 1, H, W) that raises the model's logit of it, by the
    recipe; the same noise and the same shifts for any model (seeded by the recipe)."""
    model.eval()
    gen = torch.Generator().manual_seed(recipe.seed)
    scale = frequency_scale(*size, recipe.decay).to(device)
    spectrum = (torch.randn(len(classes), 1, size[0], size[1] // 2 + 1, 2, generator=gen) * recipe.start)
    spectrum = spectrum.to(device).requires_grad_(True)
    wanted, rows = torch.tensor(classes, device=device), torch.arange(len(classes), device=device)
    optimizer = torch.optim.Adam([spectrum], lr=recipe.lr)
    offsets = torch.randint(0, 2 * recipe.jitter + 1, (recipe.steps, 2), generator=gen).tolist()
    for dy, dx in offsets:
        x = shifted(to_image(spectrum, scale, size), dy, dx, recipe.jitter)
        optimizer.zero_grad()
        (-model(x)[rows, wanted].sum()).backward()
        optimizer.step()
    with torch.no_grad():
        return to_image(spectrum, scale, size).cpu()


PERMUTATIONS = 2000  # class relabellings the chance p is taken from


def own_shares(looks: list[int], classes: list[int], relabel=None) -> np.ndarray:
    """Per class, the share of its images that look most like it (or, with `relabel`, like the
    class it is relabelled to)."""
    kinds = list(dict.fromkeys(classes))
    target = dict(zip(kinds, relabel if relabel is not None else kinds))
    return np.array([np.mean([looks[k] == target[c] for k, k_c in enumerate(classes) if k_c == c]) for c in kinds])


def read(images: torch.Tensor, model: nn.Module, patterns: np.ndarray, classes: list[int], device,
         seed: int = 0) -> dict:
    """What a set of class images (image k made for class classes[k]) shows, against the classes'
    `patterns` (metrics.class_patterns of the test images): the trained `model`'s
    probability of each image's class, each image's correlation with its own class's pattern, the
    class it looks like, how many look like their own class, and the chance p of that many with
    the class as the unit (the starts of one class are not independent draws): the share of
    PERMUTATIONS relabellings of the classes under which as many images or more look like the
    class they are relabelled to."""
    with torch.no_grad():
        p = model(images.to(device)).softmax(1).cpu()[torch.arange(len(classes)), torch.tensor(classes)]
    r = pattern_correlation(images.double(), patterns)
    looks = r.argmax(1).tolist()
    own = sum(looks[k] == c for k, c in enumerate(classes))
    kinds = list(dict.fromkeys(classes))
    rng = np.random.default_rng(seed)
    per = len(classes) / len(kinds)
    hits = sum(per * own_shares(looks, classes, rng.permutation(kinds)).sum() >= own - 1e-9
               for _ in range(PERMUTATIONS))
    return {"classes": list(classes), "trained_probability": p.tolist(),
            "own_correlation": [float(r[k, c]) for k, c in enumerate(classes)], "looks_like": looks, "own": own,
            "own_share": own_shares(looks, classes).tolist(), "images": len(classes),
            "chance": len(classes) / r.shape[1], "p": (1 + hits) / (1 + PERMUTATIONS)}


def paired_p(trained: dict, control: dict) -> float:
    """One-sided p that the trained network's class images look like their own class more often
    than the untrained network's from the same noise, the class as the unit: the exact sign-flip
    test of the per-class differences in that share (every flip of 2^classes)."""
    d = np.asarray(trained["own_share"]) - np.asarray(control["own_share"])
    flips = np.array(np.meshgrid(*[[1, -1]] * len(d))).reshape(len(d), -1).T
    return float(np.mean(flips @ d >= d.sum() - 1e-9))


def beyond(n: dict) -> bool:
    """The verdict on one network's class images: beyond chance and beyond its untrained copy, each
    at 5 %."""
    return n["trained"]["p"] < 0.05 and n["paired_p"] < 0.05


def noise_words(network: str, n: dict, names: list[str], goal: float = 0.9) -> str:
    """One network's class images beside its untrained copy's, from their numbers: how many look like
    their own class, against chance and against the control (the class as the unit), which classes
    every start drew, and how many the trained network believes."""
    trained, control = n["trained"], n["untrained"]
    believed = sum(v >= goal for v in trained["trained_probability"])
    starts = trained["classes"].count(trained["classes"][0])
    every = [names[c] for c, share in zip(dict.fromkeys(trained["classes"]), trained["own_share"]) if share == 1]
    chance_p, vs = trained["p"], n["paired_p"]
    verdict = ("The network, not the recipe, put the class structure there" if beyond(n) else
               f"That is beyond chance, and so are the untrained network's (p = {control['p']:.2g}): the recipe and "
               "the architecture alone draw class structure" if chance_p < 0.05 and control["p"] < 0.05 else
               f"That is beyond chance while the untrained network's is not (p = {control['p']:.2g}), but paired "
               f"class by class the two are not told apart ({len(trained['own_share'])} classes): no verdict that the "
               "training put it there" if chance_p < 0.05 else
               "That is no more than chance gives: these images show no class structure beyond the recipe's")
    return (f"From noise ({starts} start{'s' if starts != 1 else ''} a class), {trained['own']} of the {network}'s "
            f"{trained['images']} class images correlate most with their own class's particular pattern (chance: "
            f"{trained['chance']:.2g}; one-sided p = {chance_p:.2g}, the class as the unit)"
            + (f", every start for {listing(every)}" if every and starts > 1 else "")
            + f"; the same recipe and noise on an untrained {network}: {control['own']} of {control['images']} "
            f"(trained against untrained, paired by class, one-sided: p = {vs:.2g}). {verdict}"
            + f". The trained {network} gives {believed} of its {trained['images']} their class at {goal:g} or more "
            f"(of the untrained network's images: {sum(v >= goal for v in control['trained_probability'])}); "
            f"their correlation with their own class's pattern runs {min(trained['own_correlation']):.2f} to "
            f"{max(trained['own_correlation']):.2f} (untrained: {min(control['own_correlation']):.2f} to "
            f"{max(control['own_correlation']):.2f}).")


def noise_part(models: dict, x, y, recipe: NoiseRecipe, device) -> tuple[dict, list[Page]]:
    """Each network's class images from noise beside its untrained copy's (seeded by the recipe),
    with what each set shows; a page per network."""
    classes = [k for k in range(len(CLASSES)) for _ in range(recipe.starts)]
    patterns = class_patterns(x.double(), y)  # once: every set of images is read against them
    numbers, pages = {"method": recipe.describe()}, []
    for key, (_label, model) in models.items():
        torch.manual_seed(recipe.seed)
        untrained = MODELS[key]().to(device).eval()
        made = {}
        for name, net in (("trained", model), ("untrained", untrained)):
            images = class_images(net, classes, recipe, device)
            made[name] = images
            numbers.setdefault(key, {})[name] = {**read(images, model, patterns, classes, device, recipe.seed),
                                                 "shown": [k * recipe.starts for k in range(len(CLASSES))]}
        n = numbers[key]
        n["paired_p"] = paired_p(n["trained"], n["untrained"])
        n["sentence"] = noise_words(key.upper(), n, CLASSES)
        rows = []
        for start in range(recipe.starts):  # every start of the trained network: the counts can be checked
            shown = [k + start for k in n["trained"]["shown"]]
            rows.append((f"trained,\nstart {start + 1}", made["trained"][shown, 0].numpy(),
                         {**n["trained"], "shown": shown}))
        rows.append(("untrained,\nstart 1", made["untrained"][n["untrained"]["shown"], 0].numpy(), n["untrained"]))
        stem = "class_images_from_noise" + ("_2" if pages else "")
        figure = pattern_figures.noise_figure(key.upper(), patterns.reshape(-1, *x.shape[-2:]), rows, CLASSES,
                                      getattr(model, "flip_tta", False))
        pages.append(Page(stem, f"Class images from noise ({key.upper()})", n["sentence"], figure))
    numbers["sentence"] = " ".join(numbers[k]["sentence"] for k in models)
    return numbers, pages
