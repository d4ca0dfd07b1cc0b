"""Numbers and directions in words, for every computed sentence: the word for a against b, a
change, a list, a trend, a percentage and an interval, and the one capitaliser."""


def compare(a: float, b: float, more: str = "higher", less: str = "lower", same: str = "the same") -> str:
    """The word for a against b."""
    return more if a > b else less if a < b else same


def change(before: float, after: float, unit: str = " points") -> str:
    """'falls by 3.2 points', 'rises by 0.4 points' or 'does not change'."""
    d = after - before
    return f"falls by {-d:.1f}{unit}" if d < 0 else f"rises by {d:.1f}{unit}" if d > 0 else "does not change"


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
    return (f"{interval['mean']:.{digits}f}{unit} (95 % CI {interval['low']:.{digits}f} to "
            f"{interval['high']:.{digits}f}, {interval['n']} seeds)")


def number_words(x: float) -> str:
    """A setting as a page prints it: 0.05, 128, 5e-4 (not 0.0005), 0."""
    if x and abs(x) <= 1e-3:
        mantissa, exponent = f"{x:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{x:g}"
