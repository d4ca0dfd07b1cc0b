"""The study interface of experiments.py: what a study is (`Study`), the options and context
every run sees, a run's key, and the helpers studies share (subsets, the records of a plan).

A study is a subclass of `Study`; the engine (engine.py) asks it for its plan and runs, the
parallel backends (parallel.py) run them, and tables.py draws its tables and experiments.pdf.
"""
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from fmnist.core.data import stratified
from fmnist.core.pages import Page
from fmnist.studies.configs import RunConfig


@dataclass(frozen=True)
class Options:
    quick: bool = False
    fresh: bool = False
    epochs: int | None = None      # None: each study's own default
    seed: int = 0
    fractions: tuple | None = None  # pretrain and transfer: fractions of the labelled set
    budget: str = "default"        # default: converge on stratified subsets; spec: each spec's data in full
    jobs: int | None = None        # runs at once (None: one per two cores)
    scheduler: str | None = None   # a Dask scheduler's address: run on its workers
    threads: int | None = None     # torch threads per run (None: the cores shared out among the jobs)
    seeds: int | None = None       # seeds per compared row (None: the study's own)


@dataclass
class Context:
    """What every run of a study sees: the options, the data, the device and its folder."""
    options: Options
    splits: dict
    device: torch.device
    folder: Path


@dataclass(frozen=True)
class Column:
    title: str
    key: str
    fmt: str = "{}"


# the every-run table's columns of what a run scored, in the order most studies show them
SCORE_COLUMNS = (Column("epochs run", "epochs"), Column("train loss", "train_loss", "{:.4f}"),
                 Column("train acc %", "train_acc", "{:.2f}"), Column("val loss", "val_loss", "{:.4f}"),
                 Column("val acc %", "val_acc", "{:.2f}"), Column("test loss", "test_loss", "{:.4f}"),
                 Column("test acc %", "test_acc", "{:.2f}"))


class Study:
    """One study of experiments.py: what the engine asks of it, in the order it asks.

    A study is a subclass that names itself (`name`, `spec`, `title`), lists its table's
    `columns` and the measure that ranks its rows, and overrides the methods below; those it
    leaves have the defaults shown. The engine (`run_study`) calls `plan` once, then `run` for
    each configuration not finished yet (saving each record as it arrives), then `extend` until it
    plans nothing more (an iterative study's next step depends on the runs before it), then
    `finish` once every run is in; the tables and pages are drawn from results.json alone, through `rows`,
    `describe`, `notes`, `headline` and `pages`, so a finished study is redrawn without training.
    `networks` and `files` say what a finished run depends on, so that a run whose network code
    changed, or whose files are gone, is redone.
    """
    name: str                         # the study's command-line name and folder
    spec: str                         # the spec (and item) it answers, as pages head it
    title: str                        # what it compares, in a few words
    columns: tuple = ()               # the every-run table: Column(title, key of a `rows` entry, format)
    measure: str = "val_loss"         # what ranks the rows (groups.MEASURES)
    classes: tuple | None = None      # a Fashion-MNIST half study's classes (None: all ten)

    def plan(self, ctx: Context) -> list[RunConfig]:
        """Every run of the study, each with a unique name; the seeds of one row share its `row`."""
        raise NotImplementedError

    def extend(self, ctx: Context, records: list[dict]) -> list[RunConfig]:
        """An iterative study's next runs, chosen from the records of every run so far (in plan
        order); none once it is done. The engine runs them, saves each, and asks again."""
        return []

    def run(self, config: RunConfig, ctx: Context) -> dict:
        """Train and measure one run; return its record (measure.train_and_measure's, plus extras)."""
        raise NotImplementedError

    def rows(self, records: list[dict]) -> list[dict]:
        """One row of the every-run table per record: a dict by the `columns`' keys."""
        raise NotImplementedError

    def finish(self, results: dict, ctx: Context) -> dict:
        """Numbers computed once every run is in (saved as results["finish"])."""
        return {}

    def pages(self, results: dict) -> list[Page]:
        """The study's figures."""
        return []

    def notes(self, results: dict) -> list[str]:
        """The lines under the summary table: the set-up, in sentences computed from the configurations."""
        return []

    def tables(self, results: dict) -> list[tuple[str, list[str], list[list[str]], list[str]]]:
        """Tables beside the summary table, each (title, columns, rows, notes): table.md prints them
        after it, and the study's pages draw them."""
        return []

    def headline(self, results: dict) -> list[str]:
        """The summary page's lines: what the study found."""
        return []

    def describe(self, runs: list[dict], records: list[dict]) -> dict:
        """A row's own columns in the summary table ({column title: text}), from its runs."""
        return {}

    def compared(self, config) -> bool:
        """Whether a run's row is ranked with the others (not an upstream or reference run)."""
        return True

    def networks(self, config) -> list:
        """Fresh networks whose code computes a run: its own, then those whose weights it starts from."""
        return []

    def files(self, config) -> list[str]:
        """Files in the study folder that a finished run must have left (weights other runs start from)."""
        return []

    def pool(self, splits: dict) -> int:
        """The training images the spec's own protocol would draw from (all of the training split;
        a Fashion-MNIST half study those of its `classes`): what a budget line states its share of."""
        y = splits["train"][1]
        return len(y) if self.classes is None else int(torch.isin(y, torch.tensor(self.classes)).sum())


def run_key(config: RunConfig | dict) -> str:
    """A run's key: a hash of the fields it sets, in canonical JSON."""
    return hashlib.sha1(json.dumps(dict(config), sort_keys=True).encode()).hexdigest()[:16]


def as_config(config: RunConfig | dict) -> RunConfig:
    """A configuration as a RunConfig."""
    return config if isinstance(config, RunConfig) else RunConfig(**config)


def subset(split: tuple, per_class: int | None, seed: int = 0) -> tuple:
    """A class-stratified subset (`per_class` images of each class), or the whole split."""
    if per_class is None:
        return split
    idx = stratified(split[1], per_class, seed)
    return split[0][idx], split[1][idx]


def planned(results: dict) -> list[dict]:
    """The records of the study's last plan, in plan order."""
    return [results["runs"][k] for k in results["plan"] if k in results["runs"]]


def short_names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def clock(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
