"""Numbers and directions in words, for every computed sentence: the word for a against b, a
change, a list, a trend, a percentage and an interval, and the one capitaliser."""
import numpy as np

from fmnist.core.metrics import NEIGHBOURS, neighbour_purity
from fmnist.core.stats import bound
from fmnist.core.training import DROP, PLATEAU


def compare(a: float, b: float, more: str = "higher", less: str = "lower", same: str = "the same") -> str:
    """The word for a against b."""
    return more if a > b else less if a < b else same


def change(before: float, after: float, unit: str = " points") -> str:
    """'falls by 3.2 points', 'rises by 0.4 points' or 'does not change'."""
    d = after - before
    return f"falls by {-d:.1f}{unit}" if d < 0 else f"rises by {d:.1f}{unit}" if d > 0 else "does not change"


def count(n: int, noun: str) -> str:
    """'1 epoch', '12 epochs'."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def span(values: list[int]) -> str:
    """'12-18', or '12' when they are all one number."""
    low, high = min(values), max(values)
    return f"{low}-{high}" if low != high else f"{low}"


def listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def trend(values: list[float]) -> str:
    """How a sequence moves: at every step, or overall with the exceptions named by index."""
    steps = [b - a for a, b in zip(values, values[1:])]
    if all(s > 0 for s in steps):
        return "rises at every stage"
    if all(s < 0 for s in steps):
        return "falls at every stage"
    overall = compare(values[-1], values[0], "rises", "falls", "ends where it starts")
    against = [i + 1 for i, s in enumerate(steps) if (s <= 0 if values[-1] >= values[0] else s >= 0)]
    return f"{overall} overall, but not at every stage (not from stage {listing([str(i) for i in against])})"


def sentence(text: str) -> str:
    """The text with its first letter capitalised and the rest as it is (str.capitalize would
    lower "CI" and the names)."""
    return text[:1].upper() + text[1:]


def pct(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}%"


def ci(interval: dict, digits: int = 2, unit: str = "%") -> str:
    """mean (95 % CI low to high, n seeds), or the mean alone for one seed."""
    if interval["low"] is None:
        return f"{interval['mean']:.{digits}f}{unit} (1 seed)"
    low, high = interval["low"], interval["high"]
    clipped = unit == "%" and (low < 0 or high > 100)  # a t-interval of a percentage can pass its bounds
    if clipped:
        low, high = max(low, 0.0), min(high, 100.0)
    return (f"{interval['mean']:.{digits}f}{unit} (95 % CI {bound(low, digits, '')} to {bound(high, digits, '')}"
            + (", clipped to 0-100" if clipped else "") + f", {interval['n']} seeds)")


def number_words(x: float) -> str:
    """A setting as a page prints it: 0.05, 128, 5e-4 (not 0.0005), 0."""
    if x and abs(x) <= 1e-3:
        mantissa, exponent = f"{x:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{x:g}"


OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}
INIT_NAMES = {"he": "He", "xavier": "Xavier"}


def optimizer_words(config: dict) -> str:
    """'SGD with Nesterov momentum 0.9', 'SGD without momentum', 'Adam', 'RMSprop (momentum 0.9)'."""
    name, momentum = OPTIMIZER_NAMES[config["optimizer"]], config["momentum"]
    if config["optimizer"] == "sgd":
        return f"SGD with Nesterov momentum {number_words(momentum)}" if momentum else "SGD without momentum"
    return f"{name} (momentum {number_words(momentum)})" if config["optimizer"] == "rmsprop" and momentum else name


def training_words(config: dict, varied: tuple = ()) -> str:
    """How a run trains, in words computed from its configuration (a RunConfig or a stored
    record's dict), as measure.settings turns it into TrainSettings: optimizer, learning rate,
    L2, batch, loss, initialisation, mirroring and stopping. The fields in `varied` (a table's
    rows set them) are left out, or for "lr" the peak."""
    parts = [] if "optimizer" in varied else [optimizer_words(config)]
    if config.get("schedule") == "plateau":
        parts.append(
            ("learning rate" if "lr" in varied else f"learning rate {number_words(config['lr'])}")
            + f" after a one-epoch warm-up, divided by {round(1 / DROP)} after every {PLATEAU} epochs without a lower "
            "validation loss"
        )
    else:
        parts.append(
            "one-cycle learning rate" + ("" if "lr" in varied else f" peaking at {number_words(config['lr'])}")
        )
    if "weight_decay" not in varied:
        parts.append(f"L2 {number_words(config['weight_decay'])}")
    if "batch_size" not in varied:
        parts.append(f"batch {config['batch_size']}")
    if "label_smoothing" not in varied and config.get("label_smoothing"):
        parts.append(f"label smoothing {number_words(config['label_smoothing'])}")
    if "init" not in varied and config.get("init", "default") in INIT_NAMES:
        parts.append(f"{INIT_NAMES[config['init']]} initialisation")
    if "flip" not in varied:
        parts.append("random mirroring" if config["flip"] else "no mirroring")
    if "epochs" not in varied:
        parts.append(f"early stopping on validation loss with patience {config['patience']} under a ceiling of "
                     f"{count(config['epochs'], 'epoch')}" if config.get("patience") is not None
                     else count(config["epochs"], "epoch"))
    return ", ".join(parts)


def tsne_words(row: str, tsne: dict) -> str:
    """How far a t-SNE plot keeps the classes apart: each class's share of same-class neighbours."""
    p = neighbour_purity(tsne["points"], tsne["labels"], NEIGHBOURS)
    order = sorted(p, key=lambda c: -p[c]["purity"])
    mean, chance = (100 * float(np.mean([v[k] for v in p.values()])) for k in ("purity", "chance"))
    mixed = [f"{c} {100 * p[c]['purity']:.0f} % (its neighbours most often {p[c]['mixed_with']}, "
             f"{100 * p[c]['mixed_share']:.0f} %)" for c in order[::-1][:3]]
    return (
        f"{row}, t-SNE of {tsne['layer']}: of each image's {NEIGHBOURS} nearest neighbours in the plot, "
        f"{mean:.0f} % share its class on average (chance {chance:.0f} %). Kept apart best: "
        + listing([f"{c} {100 * p[c]['purity']:.0f} %" for c in order[:3]])
        + "; mixed most: "
        + "; ".join(mixed)
        + "."
    )


def share(images: int, pool: int) -> str:
    """`images` as a share of `pool`, the training images the spec's protocol draws from: "9.1 % of the
    spec's 27,540"."""
    percent = 100 * images / pool
    return f"{percent:.{2 if percent < 1 else 1 if percent < 99.95 else 0}f} % of the spec's {pool:,}"
