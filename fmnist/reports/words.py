"""Small pieces every report's answers are written from: numbers as the pages print them,
intervals, recall from a confusion matrix, and a study's rows read through its own groups."""
import numpy as np

from ..studies import groups, stats
from ..studies.stats import sentence  # noqa: F401 (the answers' one capitaliser)
from ..studies.runner import planned


def pct(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}%"


def ci(interval: dict, digits: int = 2, unit: str = "%") -> str:
    """mean (95 % CI low to high, n seeds), or the mean alone for one seed."""
    if interval["low"] is None:
        return f"{interval['mean']:.{digits}f}{unit} (1 seed)"
    return (f"{interval['mean']:.{digits}f}{unit} (95 % CI {interval['low']:.{digits}f} to "
            f"{interval['high']:.{digits}f}, {interval['n']} seeds)")


def rows(results: dict) -> dict:
    """{row: its seeds' records} of a finished study."""
    return groups.by_row(planned(results))


def mean_of(runs: list[dict], measure: str) -> dict:
    return stats.interval(list(groups.per_seed(runs, measure).values()))


def recall(confusion) -> np.ndarray:
    """Per true class (rows): the share of its images predicted as it."""
    c = np.asarray(confusion, dtype=float)
    return np.diag(c) / np.maximum(c.sum(1), 1)


def most_confused(confusion, names: list[str]) -> tuple[str, str, int, int]:
    """The true class, the class it is most often taken for, how many times, and its images."""
    c = np.asarray(confusion)
    off = c - np.diag(np.diag(c))
    i, j = np.unravel_index(off.argmax(), off.shape)
    return names[i], names[j], int(off[i, j]), int(c[i].sum())

