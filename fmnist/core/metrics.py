"""Everything derived from one prediction pass: accuracy, loss, confusion, per-class scores,
parameter counts and the example predictions of question 1."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fmnist.core.data import CLASSES, to_uint8
from fmnist.core.training import predict

LEADERBOARD_SUBSET = 10_000


def count_parameters(model: nn.Module) -> dict:
    """Trainable parameters per tensor, in total, and split into convolutional and fully connected."""
    layers = [(name, list(p.shape), p.numel()) for name, p in model.named_parameters() if p.requires_grad]
    total = sum(n for _, _, n in layers)
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        return {"total": total, "layers": layers, "by_kind": {"fully connected": total}}
    conv = sum(n for name, _, n in layers if name.startswith("features."))  # convs and their batch norms
    by_kind = {"convolutional": conv, "fully connected": total - conv}
    return {"total": total, "layers": layers, "by_kind": by_kind}


def scores(logits: torch.Tensor, y: torch.Tensor) -> dict:
    """Plain cross-entropy (no label smoothing, no regulariser) and accuracy of one prediction pass."""
    return {"loss": float(F.cross_entropy(logits, y)), "accuracy": float((logits.argmax(1) == y).float().mean())}


def confusion_matrix(y_true: torch.Tensor, y_pred: torch.Tensor, k: int = 10) -> np.ndarray:
    """Rows: true class, columns: predicted class."""
    return torch.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k).numpy()


def per_class(confusion: np.ndarray, names=CLASSES) -> dict:
    tp = np.diag(confusion).astype(float)
    precision = tp / np.maximum(confusion.sum(axis=0), 1)
    recall = tp / np.maximum(confusion.sum(axis=1), 1)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    return {name: {"precision": float(p), "recall": float(r), "f1": float(f)}
            for name, p, r, f in zip(names, precision, recall, f1, strict=True)}


def macro_f1(confusion: np.ndarray) -> float:
    """The unweighted mean of the per-class F1 scores."""
    return float(np.mean([c["f1"] for c in per_class(confusion, range(len(confusion))).values()]))


def per_class_table(networks: dict) -> str:
    """Test recall and F1 per class, one row per class, a column pair per network."""
    head = f"{'class':12}" + "".join(f" {k.upper() + ' recall':>11} {k.upper() + ' F1':>7}" for k in networks)
    rows = [head]
    for name in CLASSES:
        rows.append(f"{name:12}" + "".join(f" {100 * n['test']['per_class'][name]['recall']:10.1f}% "
                                          f"{n['test']['per_class'][name]['f1']:7.3f}" for n in networks.values()))
    return "\n".join(rows)


def example(x: torch.Tensor, y: torch.Tensor, probs: torch.Tensor, i: int) -> dict:
    """One test prediction in words, with its pixels (0-255) for the figure."""
    pred = int(probs[i].argmax())
    return {"index": i, "true": int(y[i]), "pred": pred, "true_name": CLASSES[int(y[i])],
            "pred_name": CLASSES[pred], "confidence": float(probs[i, pred]),
            "pixels": to_uint8(x[i, 0]).flatten().tolist()}


def pick_examples(x: torch.Tensor, y: torch.Tensor, logits: torch.Tensor, seed: int) -> dict:
    """One correct and one incorrect test prediction, chosen reproducibly."""
    probs = logits.softmax(1)
    pred = probs.argmax(1)
    rng = torch.Generator().manual_seed(seed)
    examples = {}
    for key, mask in (("correct", pred == y), ("wrong", pred != y)):
        candidates = mask.nonzero().flatten()
        if len(candidates) == 0:  # a perfect (or hopeless) model: show what there is
            candidates = torch.arange(len(y))
        examples[key] = example(x, y, probs, int(candidates[torch.randint(len(candidates), (1,), generator=rng)]))
    return examples


def evaluate(model: nn.Module, splits: dict, device, seed: int) -> tuple[dict, dict]:
    """Everything about one trained network from a single prediction pass per split."""
    x_test, y_test = splits["test"]
    logits = predict(model, x_test, device)
    pred = logits.argmax(1)
    confusion = confusion_matrix(y_test, pred)
    accuracy = float(np.trace(confusion) / len(y_test))
    x_all = torch.cat([splits["train"][0], splits["val"][0]])
    y_all = torch.cat([splits["train"][1], splits["val"][1]])
    subset = torch.randperm(len(y_all), generator=torch.Generator().manual_seed(seed))[:LEADERBOARD_SUBSET]
    train_acc = float((predict(model, x_all[subset], device).argmax(1) == y_all[subset]).float().mean())
    test = {"accuracy": accuracy, "loss": float(F.cross_entropy(logits, y_test)),
            "train_subset_accuracy": train_acc, "leaderboard": (accuracy + train_acc) / 2,
            "confusion": confusion.tolist(), "per_class": per_class(confusion)}
    return test, pick_examples(x_test, y_test, logits, seed)


def recall(confusion) -> np.ndarray:
    """Per true class (rows): the share of its images predicted as it."""
    c = np.asarray(confusion, dtype=float)
    return np.diag(c) / np.maximum(c.sum(1), 1)


def confusion_pair(confusion, names: list[str]) -> tuple[str, str, int, int]:
    """The true class, the class it is most often taken for, how many times, and its images."""
    c = np.asarray(confusion)
    off = c - np.diag(np.diag(c))
    i, j = np.unravel_index(off.argmax(), off.shape)
    return names[i], names[j], int(off[i, j]), int(c[i].sum())


NEIGHBOURS = 10  # t-SNE plots are read by each image's nearest neighbours in the plot


def neighbour_purity(points: np.ndarray, labels, k: int = 10, names=CLASSES) -> dict:
    """How well an embedding (t-SNE's, say) keeps the classes apart, per class: the mean share of
    each point's k nearest other points that carry its label, and the other class its
    neighbours carry most; chance is the share of the other points that carry the label."""
    from sklearn.neighbors import NearestNeighbors
    points, labels = np.asarray(points, dtype=float), np.asarray(labels)
    near = labels[NearestNeighbors(n_neighbors=k).fit(points).kneighbors(return_distance=False)]  # self left out
    out = {}
    for c in np.unique(labels):
        mine = near[labels == c]
        others = np.bincount(mine[mine != c], minlength=len(names))
        out[names[c]] = {
            "purity": float((mine == c).mean()),
            "chance": float(((labels == c).sum() - 1) / (len(labels) - 1)),
            "mixed_with": names[int(others.argmax())] if others.any() else None,
            "mixed_share": float(others.max() / mine.size),
        }
    return out


def mean_purity(points: np.ndarray, labels, k: int = NEIGHBOURS) -> float:
    """The mean over classes of neighbour_purity's same-class share."""
    return float(np.mean([c["purity"] for c in neighbour_purity(points, labels, k).values()]))


def tap_correlation(kernels: np.ndarray) -> float:
    """How smooth a stack of 2-D kernels is: the correlation between horizontally and vertically
    neighbouring taps, over every pair in every kernel (about 0 for independent random taps,
    near 1 for kernels that vary slowly)."""
    k = np.asarray(kernels, dtype=float).reshape(-1, *np.shape(kernels)[-2:])
    a = np.concatenate([k[:, :, :-1].ravel(), k[:, :-1, :].ravel()])
    b = np.concatenate([k[:, :, 1:].ravel(), k[:, 1:, :].ravel()])
    return float(np.corrcoef(a, b)[0, 1])


def random_tap_correlation(count: int, shape=(3, 3), draws: int = 400, seed: int = 0) -> tuple[float, float]:
    """The range (2.5th and 97.5th percentiles) of tap_correlation over `draws` stacks of `count`
    kernels of independent Gaussian taps: what chance gives for that many kernels."""
    rng = np.random.default_rng(seed)
    values = [tap_correlation(rng.standard_normal((count, *shape))) for _ in range(draws)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def class_patterns(x, y) -> np.ndarray:
    """(classes, pixels): each class's mean image minus the mean of every image, flattened: what is
    particular to each class. `x` (N, ...) and `y` (N,), numpy arrays or tensors."""
    x, y = np.asarray(x).reshape(len(x), -1), np.asarray(y)
    overall = x.mean(0)
    return np.stack([x[y == k].mean(0) - overall for k in range(int(y.max()) + 1)])


def pattern_correlation(rows, patterns: np.ndarray) -> np.ndarray:
    """(N, classes): the Pearson correlation of each row (an image, a map or a unit's weights,
    flattened) with each class pattern (class_patterns)."""
    w = np.asarray(rows).reshape(len(rows), -1)
    w = w - w.mean(1, keepdims=True)
    m = patterns - patterns.mean(1, keepdims=True)
    return (w @ m.T) / (np.linalg.norm(w, axis=1)[:, None] * np.linalg.norm(m, axis=1)[None] + 1e-12)
