"""A study's runs read as rows: every seed of one setting is one row, summarised by the mean,
the 95 % interval's half-width and n (stats.interval); the best row and its runner-up, with
the paired interval of their difference; which two rows are rerun with twice the epochs, and
whether their order holds when they are.

A run's config names its row ("row") and its seed; runs with the same seed in different
rows start from the same weights, see the same training subset and the same batch order.
"""
from fmnist.core import stats

# What rows are ranked and summarised by: key -> (label, read from a run's record, higher is better)
MEASURES = {
    "val_loss": ("validation loss", lambda r: r["val"]["loss"], False),
    "val_acc": ("validation accuracy (%)", lambda r: 100 * r["val"]["accuracy"], True),
    "test_acc": ("test accuracy (%)", lambda r: 100 * r["test"]["accuracy"], True),
    "test_loss": ("test loss", lambda r: r["test"]["loss"], False),
    "train_acc": ("training accuracy (%)", lambda r: 100 * r["train"]["accuracy"], True),
}
SUMMARISED = ("val_loss", "val_acc", "test_acc")  # the measures a table's row shows
LONGER = 2  # the convergence check's factor on the epochs


def row_of(config: dict) -> str:
    return config.get("row", config["name"])


def measured(record: dict) -> bool:
    return "diverged" not in record and "val" in record and "test" in record


def by_row(records: list[dict]) -> dict:
    """{row: [records of its seeds]} in plan order, the finished (not diverged) runs only."""
    out = {}
    for r in records:
        if measured(r):
            out.setdefault(row_of(r["config"]), []).append(r)
    return out


def per_seed(runs: list[dict], measure: str) -> dict:
    read = MEASURES[measure][1]
    return {r["config"]["seed"]: read(r) for r in runs}


def stopped(runs: list[dict]) -> str:
    """Why the runs of a row stopped: at the epoch cap, or by patience after k epochs."""
    reasons = sorted({"epoch cap" if len(r["history"]) >= r["config"]["epochs"] else f"patience ({len(r['history'])})"
                      for r in runs})
    return ", ".join(reasons)


def summary(runs: list[dict]) -> dict:
    """One row: n, the interval of each measure, the best epochs and why the runs stopped."""
    out = {m: stats.interval(list(per_seed(runs, m).values())) for m in SUMMARISED}
    out.update(n=len(runs), best_epochs=[r["best_epoch"] for r in runs], epochs=runs[0]["config"]["epochs"],
               stopped=stopped(runs), seconds=sum(r["seconds"] for r in runs) / len(runs))
    return out


def cell(interval: dict, digits: int) -> str:
    """mean +- half-width, or the mean alone for one seed."""
    if interval["half_width"] is None:
        return f"{interval['mean']:.{digits}f}"
    return f"{interval['mean']:.{digits}f} ± {interval['half_width']:.{digits}f}"


def ranked(records: list[dict], measure: str, compared=lambda config: True) -> list[tuple[str, list[dict]]]:
    """The compared rows, best mean first."""
    _, _, higher = MEASURES[measure]
    rows = [(row, runs) for row, runs in by_row(records).items() if compared(runs[0]["config"])]
    mean = lambda runs: stats.interval(list(per_seed(runs, measure).values()))["mean"]  # noqa: E731
    return sorted(rows, key=lambda item: -mean(item[1]) if higher else mean(item[1]))


def difference(a: list[dict], b: list[dict], measure: str) -> dict:
    """b minus a, paired by seed."""
    return stats.paired(per_seed(a, measure), per_seed(b, measure))


def best_line(records: list[dict], measure: str, compared=lambda config: True, digits: int = 4) -> str:
    """The best row among k, its runner-up beside it, and the verdict between the two."""
    rows = ranked(records, measure, compared)
    if not rows:
        return ""
    label, _, higher = MEASURES[measure]
    say = lambda row, runs: f"{row} {cell(stats.interval(list(per_seed(runs, measure).values())), digits)} (n {len(runs)})"  # noqa: E731
    line = f"{'highest' if higher else 'lowest'} mean {label} of {len(rows)} rows: {say(*rows[0])}"
    if len(rows) > 1:
        unit = " points" if "%" in label else ""
        line += (f"; runner-up {say(*rows[1])}; " +
                 stats.verdict(difference(rows[1][1], rows[0][1], measure), rows[1][0], rows[0][0], unit=unit,
                               budget=f"{rows[0][1][0]['config']['epochs']} epochs", higher_is_better=higher))
    return line


def longer_configs(records: list[dict], measure: str, compared=lambda config: True) -> list[dict]:
    """The top two rows' runs again with LONGER times the epochs, same seeds (so same subsets,
    initial weights and batch order)."""
    out = []
    for row, runs in ranked(records, measure, compared)[:2]:
        for r in runs:
            c = r["config"]
            out.append({**c, "epochs": LONGER * c["epochs"], "longer": True,
                        "name": f"{c['name']} ({LONGER}x epochs)"})
    return out


def convergence(records: list[dict], longer: list[dict], measure: str) -> dict | None:
    """Whether the top two rows keep their order with twice the epochs: the mean difference at
    both budgets, and the paired verdict at the longer one."""
    short, long_ = by_row(records), by_row(longer)
    rows = [row for row in long_ if row in short]
    if len(rows) < 2:
        return None
    label, _, higher = MEASURES[measure]
    a, b = rows[:2]  # the order of the plan: the better row first
    before, after = difference(short[a], short[b], measure), difference(long_[a], long_[b], measure)
    unit = " points" if "%" in label else ""
    epochs = (short[a][0]["config"]["epochs"], long_[a][0]["config"]["epochs"])
    other = (short[b][0]["config"]["epochs"], long_[b][0]["config"]["epochs"])
    span = (f"from {epochs[0]} to {epochs[1]} epochs" if other == epochs else
            f"each with twice its epochs ({epochs[0]} -> {epochs[1]} and {other[0]} -> {other[1]})")
    at = f"{epochs[1]} epochs" if other == epochs else "twice the epochs"
    holds = (before["mean"] > 0) == (after["mean"] > 0)
    means = {row: {k: stats.interval(list(per_seed(runs[row], measure).values()))["mean"]
                   for k, runs in (("short", short), ("long", long_))} for row in (a, b)}
    sentence = (f"Convergence check, {label}: {a} {means[a]['short']:.4g} -> {means[a]['long']:.4g} and "
                f"{b} {means[b]['short']:.4g} -> {means[b]['long']:.4g} {span}; "
                f"their order {'holds' if holds else 'is reversed'} ({b} minus {a} {before['mean']:+.4g} -> "
                f"{after['mean']:+.4g}). At {at}: "
                + stats.verdict(after, a, b, unit=unit, budget=at, higher_is_better=higher) + ".")
    return {"rows": [a, b], "epochs": list(epochs), "before": before, "after": after, "holds": holds,
            "means": means, "sentence": sentence, "higher_is_better": higher}
