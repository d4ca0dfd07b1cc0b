"""A study's runs read as rows: every seed of one setting is one row, summarised by the mean,
the 95 % interval's half-width and n (stats.interval); the best row and its runner-up, with
the paired interval of their difference; whether each run converged (stopped by early
stopping before its epoch ceiling), and the caveat a verdict over unconverged rows carries.

A run's config names its row ("row") and its seed; runs with the same seed in different
rows start from the same weights, see the same training subset and the same batch order.
"""
from fmnist.core import stats
from fmnist.core.assignment import STUDY_RECIPE
from fmnist.core.training import steps_per_pass
from fmnist.core.words import count, share, span

# What rows are ranked and summarised by: key -> (label, read from a run's record, higher is better)
MEASURES = {
    "val_loss": ("validation loss", lambda r: r["val"]["loss"], False),
    "val_acc": ("validation accuracy (%)", lambda r: 100 * r["val"]["accuracy"], True),
    "test_acc": ("test accuracy (%)", lambda r: 100 * r["test"]["accuracy"], True),
    "test_loss": ("test loss", lambda r: r["test"]["loss"], False),
    "train_acc": ("training accuracy (%)", lambda r: 100 * r["train"]["accuracy"], True),
    "train_loss": ("lowest training loss", lambda r: r["lowest_train_loss"], False),  # sweep runs record it
}
CELLS = ("± in a cell: the half-width h of the 95 % t-interval over the row's n seeds (the interval runs from mean - h "
         "to mean + h); a row of one seed shows its value alone.")
SUMMARISED = ("val_loss", "val_acc", "test_acc")  # the measures a table's row shows


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


def converged(record: dict) -> bool:
    """Whether a run stopped by early stopping: its validation loss did not fall for `patience`
    epochs before the ceiling. A run without patience trained a fixed number of epochs."""
    c = record["config"]
    return ("patience" in c and "diverged" not in record and "history" in record
            and record["best_epoch"] + c["patience"] <= len(record["history"]))


def epochs_run(record: dict) -> int | None:
    """How many epochs a run trained (its ceiling or fixed count is in its config)."""
    return len(record.get("history") or []) or None


def stop_reason(record: dict) -> str:
    """Why a run stopped: early stopping after k epochs, the ceiling (not converged), or a fixed
    number of epochs (no early stopping: the number is what the run was given)."""
    c, ran = record["config"], len(record["history"])
    if "patience" not in c:
        return f"fixed {count(ran, 'epoch')}"
    return f"early stop ({ran})" if converged(record) else f"ceiling {c['epochs']}: not converged"


def stopped(runs: list[dict]) -> str:
    """Why the runs of a row stopped: "early stop (12-15)", "ceiling 60: not converged (1 of 3)",
    "fixed 4 epochs"."""
    early = [len(r["history"]) for r in runs if converged(r)]
    reasons = [f"early stop ({span(early)})"] if early else []
    others = [stop_reason(r) for r in runs if not converged(r)]
    reasons += [reason + (f" ({others.count(reason)} of {len(runs)})" if others.count(reason) < len(runs) else "")
                for reason in dict.fromkeys(others)]
    return ", ".join(reasons)


def at_ceiling(record: dict) -> bool:
    """Whether a run was to stop by early stopping and reached its ceiling instead (a run given a
    fixed number of epochs is not one: its epochs are its setting)."""
    return "patience" in record["config"] and not converged(record)


def unconverged(rows: dict) -> list[str]:
    """The names of the rows ({name: runs}) with a run at its ceiling (at_ceiling)."""
    return [name for name, runs in rows.items() if any(at_ceiling(r) for r in runs)]


def first_seeds(records: list[dict]) -> dict:
    """Each row's first run with a history ({row: record}): the run a row's curve figures draw."""
    out = {}
    for r in records:
        if r.get("history"):
            out.setdefault(row_of(r["config"]), r)
    return out


def ceiling_words(rows: dict) -> str:
    """Which of these rows ({name: runs}) did not converge, in words ("" when every run stopped early)."""
    def which(name: str) -> str:
        runs = rows[name]
        hit = [r for r in runs if at_ceiling(r)]
        return name + (f" ({len(hit)} of its {len(runs)} seeds)" if len(hit) < len(runs) else "")
    names = unconverged(rows)
    if not names:
        return ""
    hit = [r for n in names for r in rows[n] if at_ceiling(r)]
    last = [r for r in hit if r["best_epoch"] == len(r["history"])]
    whose = "its" if len(hit) == 1 else "their"
    if len(last) == len(hit):
        why = f": {whose} validation loss was still falling at the ceiling (lowest in the last epoch)"
    elif last:
        why = f": {len(last)} of the {len(hit)} were still falling at the ceiling (lowest in their last epoch)"
    else:
        why = f": {whose} validation loss had not yet stopped falling for {hit[0]['config']['patience']} epochs"
    return f"{' and '.join(which(n) for n in names)} reached the epoch ceiling before early stopping{why}"


def unfinished(words: str) -> str:
    """What a verdict must add when its rows did not converge (`words`: ceiling_words)."""
    return f" (not converged: {words}, so this compares unfinished training)" if words else ""


def caveat(rows: dict) -> str:
    """What a verdict over these rows ({name: runs}) must add when any did not converge."""
    return unfinished(ceiling_words(rows))


def epoch_steps(record: dict) -> int | None:
    """Optimizer steps of one of the run's epochs: as recorded, or (a record from before epochs of
    at least TrainSettings.min_steps) one pass over its training images; None if it says neither."""
    if "epoch_steps" in record:
        return record["epoch_steps"]
    images = record.get("sizes", {}).get("train") or record.get("images")
    return steps_per_pass(images, record["config"].get("batch_size", STUDY_RECIPE.batch_size)) if images else None


def budget_line(records: list[dict], name: str | None, pool: int | None = None) -> str:
    """A study's budget in one line: its name, the training images per run and what share they
    are of the `pool` the spec's protocol trains on (Study.pool, when recorded), seeds, the stop
    rule and the epochs the runs actually took."""
    runs = [r for r in records if measured(r)]
    if not runs:
        return f"Budget {name or 'default'}: no finished runs."
    images = sorted({r["sizes"]["train"] for r in runs if "sizes" in r})
    seeds = sorted({r["config"].get("seed", 0) for r in runs})
    early = [r for r in runs if "patience" in r["config"]]
    fixed = sorted({r["config"]["epochs"] for r in runs if "patience" not in r["config"]})
    swept = sorted({r["sizes"]["train"] for r in runs if "sizes" in r and r["config"].get("kind", "sweep") == "sweep"})
    of_pool = ("" if not (pool and swept) else
               f" ({'' if swept == images else 'the compared runs: '}{'at most ' if len(swept) > 1 else ''}"
               f"{share(swept[-1], pool)})")
    parts = [f"{images[0]:,}" + (f"-{images[-1]:,}" if len(images) > 1 else "") + " training images per run"
             + of_pool if images else "", f"seeds {', '.join(map(str, seeds))}"]
    if early:
        c, ran = early[0]["config"], sorted(len(r["history"]) for r in early)
        cut = sum(not converged(r) for r in early)
        steps = sorted({s for r in early if (s := epoch_steps(r))})
        parts.append(
            f"early stopping on the validation loss (patience {c['patience']}, ceiling {c['epochs']} "
            f"epoch{'s' * (c['epochs'] > 1)}, "
            + (f"an epoch {span(steps)} optimizer step{'s' * (steps[-1] > 1)}, " if steps else "")
            +
            f"{span(ran)} epoch{'s' * (ran[-1] > 1)} run"
            + (f"; {cut} of {len(early)} runs reached the ceiling" if cut else "; every run stopped early")
            + ")"
        )
    if fixed:
        parts.append(f"{'' if not early else 'some rows '}a fixed {' or '.join(map(str, fixed))} "
                     f"epoch{'s' * (fixed[-1] > 1)}")
    return f"Budget {name or 'default'}: " + "; ".join(p for p in parts if p) + "."


def study_budget(results: dict, records: list[dict]) -> str:
    """budget_line for a study's results.json: its budget's name and recorded pool."""
    return budget_line(records, results.get("budget"), results.get("pool"))


def budget(runs: list[dict]) -> str:
    """The row's training budget in words: images, stop rule, epochs reached."""
    c = runs[0]["config"]
    images = runs[0].get("sizes", {}).get("train")
    ran = sorted(len(r["history"]) for r in runs)
    rule = (f"early stopping (patience {c['patience']}, ceiling {c['epochs']}), {span(ran)} "
            f"epoch{'s' * (ran[-1] > 1)} run"
            if "patience" in c else count(c["epochs"], "epoch"))
    return (f"{images:,} training images, " if images else "") + rule


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
    say = lambda row, runs: (
        f"{row} {cell(stats.interval(list(per_seed(runs, measure).values())), digits)} (n {len(runs)})"
    )  # noqa: E731
    line = f"{'highest' if higher else 'lowest'} mean {label} of {len(rows)} rows: {say(*rows[0])}"
    if len(rows) > 1:
        unit = " points" if "%" in label else ""
        line += (f"; runner-up {say(*rows[1])}; " +
                 stats.verdict(difference(rows[1][1], rows[0][1], measure), rows[1][0], rows[0][0], unit=unit,
                               budget="this budget", higher_is_better=higher)
                 + caveat(dict(rows[:2])))
    return line
