"""Spec 004's items 3.1 (the HalfCNN on Fashion-MNIST-1, trained on its whole labelled pool): the
network, its convergence and curves, its accuracies, and the classes it confuses, with why."""
import numpy as np
from torch import nn

from fmnist.core import plotting, words
from fmnist.core.data import CLASSES
from fmnist.core.words import ci, number_words
from fmnist.reports.build import convergence_words, curve_words, mean_of, rows
from fmnist.studies import figures, sweep
from fmnist.studies.networks import HalfCNN

HALF1_NAMES = [CLASSES[k] for k in sweep.HALF1]
# what each class is, for the hypothesis of why two classes are confused: (one of them, several,
# the details that tell two of them apart)
GARMENT = ("an upper-body garment", "upper-body garments", "a collar, a zip, the length of a sleeve")
FOOTWEAR = ("footwear", "footwear", "a strap, the height of the shaft, the sole")
KIND = {
    "T-shirt/top": GARMENT,
    "Trouser": ("legwear", "legwear", "the gap between the legs"),
    "Pullover": GARMENT,
    "Dress": GARMENT,
    "Coat": GARMENT,
    "Sandal": FOOTWEAR,
    "Shirt": GARMENT,
    "Sneaker": FOOTWEAR,
    "Bag": ("a bag", "bags", "a handle, a strap, a clasp"),
    "Ankle boot": FOOTWEAR,
}


def _full(src, study: str = "transfer", start: str = "random") -> list[dict]:
    """The sweep's runs of `start` on all of the labelled Fashion-MNIST-1 data (100 %)."""
    return rows(src.studies[study]).get(f"{start} 100%", [])


def half_cnn_words(model: nn.Module) -> str:
    """A HalfCNN's layers in words, read off the module (fmnist/studies/networks.py)."""
    layers = list(model.features.children())
    convs = [(i, m) for i, m in enumerate(layers) if isinstance(m, nn.Conv2d)]
    ends = [i for i, _ in convs[1:]] + [len(layers)]

    def block(i, m, end):
        pooled = any(isinstance(layer, nn.MaxPool2d) for layer in layers[i:end])
        return f"{m.out_channels} ({m.kernel_size[0]}x{m.kernel_size[1]}{', 2x2 max-pooling' if pooled else ''})"
    drop = [m.p for m in model.classifier.modules() if isinstance(m, nn.Dropout)]
    fcs = [m.out_features for m in model.classifier.modules() if isinstance(m, nn.Linear)]
    return (f"conv {words.listing([block(i, m, end) for (i, m), end in zip(convs, ends)])} channels, each with batch "
            f"norm and ReLU, dropout {number_words(drop[0]) if drop else 0}, " + ", ".join(f"FC {n}" for n in fcs))


def network(src) -> str:
    r = _full(src)[0]
    return (
        f"HalfCNN (fmnist/studies/networks.py): {half_cnn_words(HalfCNN(len(sweep.HALF1)))}; "
        f"{r['parameters']:,} parameters, cross-entropy loss. It is the "
        "random-start network of the transfer study at 100 % of its labelled Fashion-MNIST-1 pool: "
        f"{r['sizes']['train']:,} training images ({r['sizes']['train'] // len(sweep.HALF1):,} a class; the fractions "
        f"of 3.4 and 3.5 are shares of this pool), validated on {r['sizes']['val']:,} and tested on "
        f"{r['sizes']['test']:,} images."
    )


def converged(src) -> str:
    return convergence_words(_full(src))


def curves(src):
    r = _full(src)[0]
    return [figures.curves_figure(f"HalfCNN on Fashion-MNIST-1 ({r['sizes']['train']:,} training images, the whole "
                                  f"pool), seed {r['config']['seed']}", {"HalfCNN": r["history"]})]


def curves_answer(src) -> str:
    """3.1.3: the curves of the figure read."""
    r = _full(src)[0]
    return f"Seed {r['config']['seed']}: " + curve_words(r["history"], r["best_epoch"])


def accuracies(src) -> str:
    runs = _full(src)
    return (
        f"Final accuracy (weights of the lowest validation loss), mean over {len(runs)} seeds: training "
        f"{ci(mean_of(runs, 'train_acc'))}, validation {ci(mean_of(runs, 'val_acc'))}, test "
        f"{ci(mean_of(runs, 'test_acc'))}."
    )


def _confusion(src) -> np.ndarray:
    return np.sum([np.asarray(r["test"]["confusion"]) for r in _full(src)], axis=0)


def confusion_figure(src):
    return [plotting.confusion_figure(f"HalfCNN on Fashion-MNIST-1, test set, summed over {len(_full(src))} seeds",
                                   _confusion(src), HALF1_NAMES, column=True)]


CONFUSED_PAIRS = 3  # the pairs of classes 3.1.5 reads


def confused_pairs(c: np.ndarray, names: list[str], top: int = CONFUSED_PAIRS) -> list[dict]:
    """The pairs of classes confused most, both ways together, most first: {"a", "b", "errors",
    "a_as_b", "b_as_a"} (a the class more often taken for the other); pairs without errors left out."""
    pairs = []
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            if c[i, j] + c[j, i]:
                i_, j_ = (i, j) if c[i, j] >= c[j, i] else (j, i)
                pairs.append({"a": names[i_], "b": names[j_], "errors": int(c[i, j] + c[j, i]),
                              "a_as_b": int(c[i_, j_]), "b_as_a": int(c[j_, i_])})
    return sorted(pairs, key=lambda p: -p["errors"])[:top]


def why_confused(a: str, b: str) -> str:
    """A hypothesis for why two classes are confused, from what each is (KIND)."""
    if KIND[a] == KIND[b]:
        return (f"both are {KIND[a][1]}, whose 28x28 silhouettes share their outline; what tells them apart "
                f"({KIND[a][2]}) is a few pixels of detail")
    return (f"{a} is {KIND[a][0]} and {b} {KIND[b][0]}: not alike in kind, so these errors are more likely images "
            "unusual for their class than a likeness of the two classes; the misclassified images would tell which")


def confused(src) -> str:
    c = _confusion(src)
    errors = int(c.sum() - np.trace(c))
    pairs = confused_pairs(c, HALF1_NAMES)
    recall = np.diag(c) / np.maximum(c.sum(1), 1)
    worst = int(recall.argmin())
    seeds = len(_full(src))
    lines = [(f"Summed over the {seeds} seeds, " if seeds > 1 else "") + f"{errors:,} of {int(c.sum()):,} test "
             "predictions are wrong" + (". The pair of classes confused most, both ways together:" if len(pairs) == 1
                                        else f". The {len(pairs)} pairs of classes confused most, both ways together:"
                                        if pairs else ".")]
    lines += [f"- {p['a']} and {p['b']}: {p['errors']} errors, {100 * p['errors'] / max(errors, 1):.0f} % of all "
              f"({p['a_as_b']} {p['a']} taken for {p['b']}, {p['b_as_a']} the other way). Hypothesis: "
              f"{why_confused(p['a'], p['b'])}." for p in pairs]
    lines.append(f"Recall is lowest for {HALF1_NAMES[worst]} ({100 * recall[worst]:.1f} %), highest for "
                 f"{HALF1_NAMES[int(recall.argmax())]} ({100 * recall.max():.1f} %).")
    return "\n".join(lines)
