"""The FFN's first layer as pictures: each unit's 784 weights drawn as a 28 x 28 template, read
beside a fresh network's (the control): how smooth the templates are (neighbouring weights'
correlation) and how many look like one class's mean image more than untrained units do."""
import numpy as np
import torch

from ffn import FF_Net
from fmnist.core import plotting
from fmnist.core.data import CLASSES
from fmnist.core.metrics import class_patterns, pattern_correlation, tap_correlation
from fmnist.core.pages import Page

SHOWN = 8  # templates drawn per row: the trained units most like a class, the first units in order (no
#            selection), and the fresh network's units most like a class (the control)


def class_likeness(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per unit (rows of weights, (U, 784)): the class whose centred mean image (the class mean
    minus the mean of every image) its template correlates with most in absolute value, and that
    signed correlation. Returns (classes (U,), correlations (U,))."""
    corr = pattern_correlation(weights, class_patterns(x, y))                           # (U, 10)
    best = np.abs(corr).argmax(1)
    return best, corr[np.arange(len(weights)), best]


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
    rows = [("trained", trained, np.argsort(-np.abs(numbers["trained"]["correlation"]))[:SHOWN]),
            ("trained", trained, np.arange(SHOWN)),
            ("fresh", fresh, np.argsort(-np.abs(numbers["fresh"]["correlation"]))[:SHOWN])]
    numbers["drawn"] = {"most_like": rows[0][2].tolist(), "fresh_most_like": rows[2][2].tolist()}
    labels = [f"{i}: {CLASSES[numbers[name]['classes'][i]].split('/')[0]} {numbers[name]['correlation'][i]:+.2f}"
              for name, _, units in rows for i in units]
    title = (f"fc1 templates (28 x 28, each scaled to its own range; over each: unit, the class mean it correlates "
             f"with most, r). Top row: the {SHOWN} of {len(trained):,} trained units most like a class; middle: units "
             f"0-{SHOWN - 1} in order (no selection); bottom: a fresh FF_Net's {SHOWN} most like a class (the control)")
    return numbers, Page("ffn_templates", "Spec 004, the FFN's first-layer templates", numbers["sentence"],
                         plotting.kernel_grid_figure(np.concatenate([w[units] for _, w, units in rows]).reshape(
                             -1, 28, 28), title, labels, top=2.0, cols=SHOWN))


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
