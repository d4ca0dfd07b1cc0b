"""The FFN's first layer as pictures: each unit's 784 weights drawn as a 28 x 28 template, read
beside a fresh network's (the control): how smooth the templates are (neighbouring weights'
correlation) and how many look like one class's mean image more than untrained units do."""
import numpy as np
import torch

from ffn import FF_Net
from fmnist.core import plotting
from fmnist.core.data import CLASSES
from fmnist.core.metrics import tap_correlation
from fmnist.core.pages import Page

SHOWN = 40  # templates drawn: the first units in order (no selection)


def class_likeness(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (rows of weights, (U, 784)): the class whose centred mean image (the class mean
    minus the mean of every image) its template correlates with most in absolute value, and that
    signed correlation. Returns (classes (U,), correlations (U,))."""
    overall = x.mean(0)
    means = np.stack([x[y == k].mean(0) - overall for k in range(len(CLASSES))])       # (10, 784)
    w = weights - weights.mean(1, keepdims=True)
    m = means - means.mean(1, keepdims=True)
    corr = (w @ m.T) / (np.linalg.norm(w, axis=1)[:, None] * np.linalg.norm(m, axis=1)[None] + 1e-12)  # (U, 10)
    best = np.abs(corr).argmax(1)
    return best, corr[np.arange(len(w)), best]


def templates_part(model, x, y, seed: int = 0) -> tuple[dict, Page]:
    """fc1's templates beside a freshly initialised FF_Net's (seed `seed`)."""
    trained = model.features.fc1.weight.detach().cpu().numpy()                          # (U, 784)
    torch.manual_seed(seed)
    fresh = FF_Net().features.fc1.weight.detach().numpy()
    xs, ys = x.flatten(1).numpy(), y.numpy()
    numbers = {"units": len(trained), "shown": SHOWN}
    for name, w in (("trained", trained), ("fresh", fresh)):
        classes, corr = class_likeness(w, xs, ys)
        numbers[name] = {"smoothness": tap_correlation(w.reshape(-1, 28, 28)), "classes": classes.tolist(),
                         "correlation": np.round(corr, 4).tolist()}
    numbers["sentence"] = templates_words(numbers)
    labels = [f"{i}: {CLASSES[c].split('/')[0]} {r:+.2f}" for i, (c, r) in
              enumerate(zip(numbers["trained"]["classes"][:SHOWN], numbers["trained"]["correlation"][:SHOWN]))]
    title = (f"fc1 units 0-{SHOWN - 1} of {len(trained):,} as 28 x 28 templates, each scaled to its own range; over "
             "each, the class mean it correlates with most, and r")
    return numbers, Page("ffn_templates", "Spec 004, the FFN's first-layer templates", numbers["sentence"],
                         plotting.kernel_grid_figure(trained[:SHOWN].reshape(-1, 28, 28), title, labels,
                                                     top=2.0))


def templates_words(numbers: dict) -> str:
    """What the templates show against a fresh network: smoothness, and how many units look like a
    class more than the 95th percentile of untrained units do."""
    t, f = numbers["trained"], numbers["fresh"]
    bar = float(np.percentile(np.abs(f["correlation"]), 95))
    like = np.abs(t["correlation"]) > bar
    counts = np.bincount(np.asarray(t["classes"])[like], minlength=len(CLASSES))
    top = [f"{CLASSES[k]} {counts[k]}" for k in np.argsort(-counts)[:3] if counts[k]]
    smooth = "smoother than" if t["smoothness"] > f["smoothness"] + 0.1 else "about as smooth as"
    return (f"In the FFN's {numbers['units']:,} first-layer templates neighbouring weights correlate "
            f"{t['smoothness']:.2f} (a fresh FF_Net: {f['smoothness']:.2f}), {smooth} noise; {int(like.sum())} units "
            f"({100 * like.mean():.0f} %) match one class's centred mean image better than 95 % of fresh units do "
            f"(|r| > {bar:.2f}; 5 % by chance)"
            + (f", most often {', '.join(top)}." if top else "."))
