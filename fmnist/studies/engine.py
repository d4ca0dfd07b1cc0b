"""experiments.py's machinery: a study is a list of runs, each saved the moment it finishes.

A run is keyed by its full configuration (a hash of its canonical JSON), so a rerun skips
what is already in results.json and `--fresh` redoes it. results.json is replaced whole
(written beside it, then renamed), so Ctrl-C or a crash loses at most the run in progress
and never leaves a half-written file. When every run is in, the study's table, figures and
the shared experiments.pdf are rebuilt from results.json alone.
"""
import contextlib
import csv
import datetime
import hashlib
import io
import json
import re
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from fmnist.core import data, files, provenance, storage
from fmnist.core.data import stratified
from fmnist.core.device import cores
from fmnist.core.pages import Page, series, write_document
from fmnist.core.storage import write_atomic
from fmnist.core.training import LOSSES, Diverged, batch_loss
from fmnist.core.words import listing
from fmnist.studies import groups
from fmnist.studies.configs import RunConfig

PDF_NAME = "experiments.pdf"


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


def run_key(config: RunConfig | dict) -> str:
    """A run's key: a hash of the fields it sets, in canonical JSON."""
    return hashlib.sha1(json.dumps(dict(config), sort_keys=True).encode()).hexdigest()[:16]


def as_config(config: RunConfig | dict) -> RunConfig:
    """A configuration as a RunConfig."""
    return config if isinstance(config, RunConfig) else RunConfig(**config)


def fingerprint(study: Study, config: dict) -> str:
    """What computes a run besides its configuration: the structure and class source of each
    of its networks and the training objective (provenance.network_fingerprint). A finished
    run whose fingerprint differs from today's was computed by other code and is redone.
    (Building the networks draws from torch's global generator; every run is seeded anew.)"""
    objective = LOSSES.get(config.get("loss"), batch_loss)  # the function its training loss comes from
    parts = [provenance.network_fingerprint(m, objective) for m in study.networks(config)]
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()[:16]


def subset(split: tuple, per_class: int | None, seed: int = 0) -> tuple:
    """A class-stratified subset (`per_class` images of each class), or the whole split."""
    if per_class is None:
        return split
    idx = stratified(split[1], per_class, seed)
    return split[0][idx], split[1][idx]


def save_results(results: dict, path: Path) -> None:
    """One line per run (figure data makes the records long), written whole or not at all (a full
    disk leaves the last complete record)."""
    runs = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in results["runs"].items())
    rest = json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1)
    storage.write_text(path, rest[:-2] + ',\n"runs": {\n' + runs + "\n}}\n")


def load_results(path: Path, name: str, fresh: bool = False) -> dict:
    """The study's results so far, checked (files.load_results); empty when there are none.
    With `fresh`, a file that cannot be read is started again rather than refused."""
    try:
        results = files.load_results(path, name)
    except storage.UserError:
        if not fresh:
            raise
        results = {}
    return results or {"study": name, "runs": {}, "plan": [], "finished": None}


def planned(results: dict) -> list[dict]:
    """The records of the study's last plan, in plan order."""
    return [results["runs"][k] for k in results["plan"] if k in results["runs"]]


def notes(study: Study, results: dict) -> list[str]:
    """The lines under a study's table: its own notes, the rows too unsettled to read, and the
    rows that did not converge."""
    return ([groups.budget_line(planned(results), results.get("budget"))] + study.notes(results)
            + unsettled(planned(results)) + unfinished(planned(results), study.compared))


def unfinished(records: list[dict], compared=lambda config: True) -> list[str]:
    """A sentence naming the compared rows with a run that stopped at an epoch limit rather than
    by early stopping: what they measure is training cut short, and every verdict over them says so."""
    rows = {row: runs for row, runs in groups.by_row(records).items() if compared(runs[0]["config"])}
    names = groups.unconverged(rows)
    if not names:
        return []
    return [f"Not converged: {listing([f'{n} ({groups.stopped(rows[n])})' for n in names])} reached the epoch "
            "ceiling before early stopping stopped them; verdicts over these rows compare unfinished training and "
            "say so."]


def unsettled(records: list[dict]) -> list[str]:
    """A sentence naming the rows whose seeds disagree so much that the 95 % interval of their
    test accuracy runs past 0-100 %: a number there says only that it is not known."""
    wide = []
    for row, runs in groups.by_row(records).items():
        iv = groups.summary(runs)["test_acc"]
        if iv["half_width"] is not None and (iv["mean"] - iv["half_width"] < 0 or iv["mean"] + iv["half_width"] > 100):
            wide.append(f"{row} ({groups.cell(iv, 2)} over {len(runs)} seeds)")
    return [f"Too unsettled to read: the seeds of {listing(wide)} disagree so much that the 95 % interval of test "
            "accuracy runs past 0-100 %; more seeds would be needed before these rows say anything."] if wide else []


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def clock(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def run_study(study: Study, ctx: Context, log=print) -> tuple[dict, list]:
    """Run every unfinished run of the study's plan, saving each; then finish and write the outputs.
    Returns the results and the pages drawn, for the PDF."""
    ctx.folder.mkdir(parents=True, exist_ok=True)
    path = ctx.folder / "results.json"
    results = load_results(path, study.name, ctx.options.fresh)
    configs = [as_config(c) for c in study.plan(ctx)]
    keys = [run_key(c) for c in configs]
    if ctx.options.fresh:
        for k in list(results["runs"]):
            results["runs"].pop(k)
    results.update(plan=keys, finished=None, budget=ctx.options.budget)
    results.pop("longer", None)
    results.pop("finish", None)
    save_results(results, path)
    start, started = time.perf_counter(), provenance.now()
    _run_all(study, ctx, results, path, configs, log, start)
    while more := [as_config(c) for c in study.extend(ctx, planned(results))
                   if run_key(c) not in results["plan"]]:  # an iterative study's next step, from what is in
        results["plan"] += [run_key(c) for c in more]
        save_results(results, path)
        _run_all(study, ctx, results, path, more, log, time.perf_counter(), first=False)
    stale = [k for k in results["runs"] if k not in results["plan"]]
    for k in stale:  # results.json keeps the runs of its last plan (the earlier ones are in git)
        results["runs"].pop(k)
    if stale:
        log(f"{study.name}: {len(stale)} run{'s' if len(stale) != 1 else ''} of an earlier plan dropped from "
            "results.json")
    results["finish"] = study.finish(results, ctx)
    results["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    results["seconds_this_session"] = round(time.perf_counter() - start, 1)
    results["provenance"] = provenance.record(ctx.device, ctx.options.seed, ctx.splits.get("files"), started)
    save_results(results, path)
    return results, write_outputs(study, results, ctx.folder, dpi=60 if ctx.options.quick else 110)


def _run_all(study: Study, ctx: Context, results: dict, path: Path, configs: list[dict], log, start: float,
             first: bool = True) -> None:
    """Run the configs not finished yet by today's code (each saved as it finishes); the first
    call of a study says beforehand how long it will take."""
    keys = [run_key(c) for c in configs]
    prints = {k: fingerprint(study, c) for k, c in zip(keys, configs)}
    stale = [c["name"] for k, c in zip(keys, configs)
             if k in results["runs"] and results["runs"][k].get("fingerprint") != prints[k]]
    done = lambda k, c: (k in results["runs"] and results["runs"][k].get("fingerprint") == prints[k]  # noqa: E731
                         and all((ctx.folder / f).is_file() for f in study.files(c)))
    todo = [(k, c) for k, c in zip(keys, configs) if not done(k, c)]
    redone = {c["name"] for _, c in todo}  # a run that starts from one being (re)done now is redone too
    todo += [(k, c) for k, c in zip(keys, configs)
             if c.get("upstream") in redone and study.files(c) and (k, c) not in todo]
    todo.sort(key=lambda kc: keys.index(kc[0]))
    kept = [c["name"] for k, c in zip(keys, configs) if done(k, c)]
    log(f"{study.name}: {len(configs)} runs" + (f"; {len(kept)} finished earlier are kept ({_names(kept)}); "
                                                 "--fresh redoes them" if kept else ""))
    if stale:
        log(f"{len(stale)} run{'s' if len(stale) != 1 else ''} redone: their network or objective changed since they "
            f"ran ({_names(stale)})")
    if first and len(todo) > 1 and not ctx.options.quick:
        log(estimate(study, ctx, todo))
    for n, (key, record) in enumerate(execute(study, ctx, todo, log), start=1):
        config = dict(next(c for k, c in todo if k == key))
        record.update(config=config, fingerprint=prints[key])
        results["runs"][key] = record
        save_results(results, path)
        elapsed = time.perf_counter() - start
        left = elapsed / n * (len(todo) - n)
        outcome = "DIVERGED" if "diverged" in record else f"val acc {100 * record['val']['accuracy']:.2f}%" \
            if "val" in record and "accuracy" in record["val"] else "done"
        log(f"[{len(configs) - len(todo) + n}/{len(configs)}] {config['name']}: {outcome} in {clock(record['seconds'])}"
            f"; about {clock(left)} left")


TYPICAL_EPOCHS = 20  # what a run under the stop rule usually takes, for the estimate before a study


def estimate(study: Study, ctx: Context, todo: list[tuple[str, RunConfig]]) -> str:
    """The study's time on this machine, estimated before it starts from the second of two timed
    epochs of its middle run among those that leave no files (trained here and thrown away)."""
    # a run that leaves no files and starts from none (its upstream may not be trained yet)
    plain = [c for _, c in todo if not study.files(c) and "upstream" not in c]
    if not plain:
        return f"{study.name}: no estimate (every run left starts from weights trained in this study)"
    config = plain[len(plain) // 2]  # the middle one: a sweep's runs grow with their fraction
    jobs, threads = jobs_and_threads(ctx.options)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        began = time.perf_counter()
        record = study.run(config.but(epochs=2, patience=2, name=config.name + " (timing)"), ctx)
        whole = time.perf_counter() - began
    except Diverged:
        return f"{study.name}: no estimate (the timing epochs diverged)"
    finally:
        torch.set_num_threads(before)
    history = record.get("history") or [{"seconds": whole / 2}] * 2
    epoch = history[-1]["seconds"]  # the second epoch: the first also pays for warming up
    scoring = max(0.0, whole - sum(e["seconds"] for e in history))
    least = config["patience"] + 1 if "patience" in config else config["epochs"]
    per = lambda epochs: (scoring + epoch * epochs) * len(todo) / jobs  # noqa: E731
    return (
        f"{study.name}: an epoch of {config.name} took {epoch:.1f} s here and its scoring {scoring:.1f} s, "
        f"so the {len(todo)} "
        f"runs take at least {clock(per(least))} with {jobs} job{'s' if jobs > 1 else ''}"
        + (
            f", about {clock(per(TYPICAL_EPOCHS))} if runs stop after {TYPICAL_EPOCHS} epochs"
            if "patience" in config
            else ""
        )
        + "; the lines below update it as runs finish"
    )


# --- many runs at once -------------------------------------------------------------------------
# Runs go to worker processes through joblib: its loky backend on this machine (the workers live
# on across runs and studies, and each loads the data once), or its dask backend on the workers of
# a Dask scheduler (--scheduler). A worker trains with `threads` torch threads, so jobs x threads
# stays within the cores (a wave of fewer runs than jobs, such as an upstream run alone, shares the
# cores among its runs); every record says how many threads computed it. Records come back as
# runs finish and are saved at once by the caller, so Ctrl-C loses only the runs in progress.

def jobs_and_threads(options: Options, runs: int | None = None) -> tuple[int, int]:
    """Runs at once (--jobs, else one per two cores) and torch threads per run (--threads, else
    the cores shared out among the runs that can be busy at once: with `runs` runs to go, fewer
    jobs than --jobs may have work, and an upstream run trained alone gets every core)."""
    jobs = options.jobs or max(1, cores() // 2)
    busy = min(jobs, runs) if runs else jobs
    return jobs, options.threads or max(1, cores() // busy)


def waves(todo: list[tuple[str, RunConfig]]) -> list[list[tuple[str, RunConfig]]]:
    """The runs in the order they may start: those another run starts from (upstream) first."""
    first = [(k, c) for k, c in todo if "upstream" not in c]
    return [w for w in (first, [(k, c) for k, c in todo if "upstream" in c]) if w]


RETRIES = 2  # times a wave's unfinished runs are started again after a worker died under them
CLUSTER_WAIT = 60  # seconds a Dask cluster may take to show a worker that can import the package


def execute(study: Study, ctx: Context, todo: list[tuple[str, RunConfig]], log=print):
    """Train every run of `todo`, yielding (key, record) as each finishes: here, one after another,
    with one job; else on joblib's workers (this machine's, or a Dask cluster's). A worker that dies
    (killed, out of memory, its node gone) costs only the runs it had: they start again on a fresh
    worker, up to RETRIES times, with a line saying which and why; the finished runs are kept."""
    jobs, threads = jobs_and_threads(ctx.options)
    if jobs == 1 and not ctx.options.scheduler:
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            for key, config in todo:
                yield key, train_one(study, config, ctx)
        finally:
            torch.set_num_threads(before)
        return
    import joblib
    backend = contextlib.nullcontext()
    if ctx.options.scheduler:
        client = connect(ctx.options.scheduler)
        backend = joblib.parallel_config(backend="dask", wait_for_workers_timeout=CLUSTER_WAIT)
        jobs = -1
    else:
        client = contextlib.nullcontext()
    plain = Context(ctx.options, {"files": ctx.splits.get("files")}, torch.device("cpu"), ctx.folder)
    with client, backend:
        for wave in waves(todo):
            threads = threads if ctx.options.scheduler else jobs_and_threads(ctx.options, len(wave))[1]
            left = list(wave)
            for attempt in range(RETRIES + 1):
                calls = (joblib.delayed(_worker_run)(study, config, plain, str(ctx.device), threads, key)
                         for key, config in left)
                try:
                    for key, record in joblib.Parallel(n_jobs=jobs, return_as="generator_unordered")(calls):
                        left = [(k, c) for k, c in left if k != key]
                        yield key, record
                    break
                except LOST as err:
                    names = _names([c["name"] for _, c in left])
                    if attempt == RETRIES:
                        raise storage.UserError(
                            f"a worker died under {names} {RETRIES + 1} times ({lost_reason(err)}); the finished runs "
                            "are kept in results.json; give each run more memory (fewer --jobs) and run the same "
                            "command again") from None
                    log(f"a worker died ({lost_reason(err)}); the finished runs are kept and the "
                        f"{len(left)} unfinished ({names}) start again on fresh workers")


def _lost_errors() -> tuple:
    """The exceptions by which joblib and Dask say that a worker died under a task."""
    from joblib.externals.loky.process_executor import BrokenProcessPool, TerminatedWorkerError
    errors = [TerminatedWorkerError, BrokenProcessPool]
    try:
        from distributed.scheduler import KilledWorker
        errors.append(KilledWorker)
    except ImportError:
        pass
    return tuple(errors)


LOST = _lost_errors()


def lost_reason(err: BaseException) -> str:
    """Why a worker died, in a few words (its exit code or signal where joblib gives it)."""
    found = re.search(r"exit codes of the workers are \{([^}]*)\}", str(err))
    if found:
        return f"exit {found[1]}" + ("; killed, perhaps for want of memory" if "SIGKILL" in found[1] else "")
    return type(err).__name__


def connect(address: str):
    """A Dask client for `address`, once the cluster is shown able to run the package's tasks: a
    scheduler answers, at least one worker is there (within CLUSTER_WAIT seconds), and the scheduler
    and every worker can import the package (the scheduler unpickles the tasks too). Each failure is
    one line naming the cause and the fix, never a wait without end."""
    try:
        from distributed import Client
    except ImportError:
        raise storage.UserError("--scheduler needs the distributed package: pip install -r requirements-cluster.txt"
                                ) from None
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as err:  # no scheduler there, or not an address
        raise storage.UserError(f"--scheduler {address}: no Dask scheduler answered ({err}); start one "
                                "(dask scheduler) or leave --scheduler out to run here") from None
    fix = ("start it where the package is importable: pip install -e . in the repository (or PYTHONPATH set to "
           "it) in the environment of the scheduler and of every worker; docs/cluster.md")
    try:
        client.wait_for_workers(1, timeout=CLUSTER_WAIT)
        client.run_on_scheduler(exec, "import fmnist.studies.engine", wait=True)
    except TimeoutError:
        client.close()
        raise storage.UserError(f"--scheduler {address}: no worker joined within {CLUSTER_WAIT} s; start one "
                                f"(dask worker {address}) or leave --scheduler out to run here") from None
    except (ImportError, OSError) as err:
        client.close()
        raise storage.UserError(f"--scheduler {address}: the scheduler cannot import the package ({err}); "
                                + fix) from None
    broken = {w: e for w, e in client.run(exec, "import fmnist.studies.engine", on_error="return").items()
              if isinstance(e, BaseException)}
    if broken:
        client.close()
        worker, err = next(iter(broken.items()))
        raise storage.UserError(f"--scheduler {address}: {len(broken)} worker{'s' if len(broken) > 1 else ''} "
                                f"cannot import the package ({worker}: {err}); " + fix)
    return client


def train_one(study: Study, config: RunConfig, ctx: Context) -> dict:
    """One run, seeded anew, with its time, thread count and provenance."""
    began, began_at = time.perf_counter(), provenance.now()
    torch.manual_seed(config.get("seed", 0))  # a run's initial weights never depend on the runs before it
    try:
        record = study.run(config, ctx)
    except Diverged as err:
        record = {"diverged": str(err)}
    record.update(seconds=round(time.perf_counter() - began, 1), finished_at=datetime.datetime.now().isoformat(),
                  threads=torch.get_num_threads(),
                  provenance=provenance.record(ctx.device, config.get("seed"), ctx.splits.get("files"), began_at))
    return record


_LOADED: dict = {}  # a worker's data, loaded once: {the data files: splits}


def _worker_run(study: Study, config: RunConfig, ctx: Context, device: str, threads: int, key: str):
    """In a worker: the data (loaded on the worker's first run), its threads, then the run."""
    files = ctx.splits["files"]
    marker = tuple(sorted(files.items()))
    if marker not in _LOADED:
        _LOADED.clear()
        _LOADED[marker] = data.from_files({k: Path(v) for k, v in files.items()})
    torch.set_num_threads(threads)
    here = Context(ctx.options, _LOADED[marker], torch.device(device), ctx.folder)
    return key, train_one(study, config, here)


def summary_table(study: Study, results: dict) -> tuple[list[str], list[list[str]]]:
    """One row per setting over its seeds: mean ± the 95 % interval's half-width, n, the best
    epochs and why the runs stopped (early stopping, or an epoch limit: not converged)."""
    rows, records = [], planned(results)
    best = groups.ranked(records, study.measure, study.compared)[:1]
    for row, runs in groups.by_row(records).items():
        s = groups.summary(runs)
        described = study.describe(runs, records)
        mark = " *" if best and best[0][0] == row else ""
        cells = {"setting": row + mark, **described, "n": str(s["n"]),
                 "val loss": groups.cell(s["val_loss"], 4), "val acc %": groups.cell(s["val_acc"], 2),
                 "test acc %": groups.cell(s["test_acc"], 2),
                 "best epoch": ",".join(map(str, s["best_epochs"])),
                 "stopped": s["stopped"], "s / run": f"{s['seconds']:.0f}"}
        rows.append(cells)
    titles = list(dict.fromkeys(k for cells in rows for k in cells))  # every row's columns, in order
    return titles, [[cells.get(k, "-") for k in titles] for cells in rows]


def table(study: Study, results: dict) -> tuple[list[str], list[list]]:
    """The column titles and, per planned run, the raw values (None where not measured)."""
    rows = study.rows(planned(results))
    return [c.title for c in study.columns], [[r.get(c.key) for c in study.columns] for r in rows]


def formatted(study: Study, results: dict) -> tuple[list[str], list[list[str]]]:
    titles, rows = table(study, results)
    return titles, [["-" if v is None else c.fmt.format(v) for c, v in zip(study.columns, row)] for row in rows]


def _markdown_table(titles: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)] + ["| " + " | ".join(r) + " |" for r in rows]


def markdown(study: Study, results: dict) -> str:
    """The summary over seeds (mean ± 95 % half-width), its notes, then every run."""
    lines = _markdown_table(*summary_table(study, results)) + [""] + [f"{n}  " for n in notes(study, results)]
    lines += ["", "Every run:", ""] + _markdown_table(*formatted(study, results))
    return "\n".join(lines) + "\n"


def csv_text(study: Study, results: dict) -> str:
    titles, rows = table(study, results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(titles)
    writer.writerows([[round(v, 6) if isinstance(v, float) else v for v in row] for row in rows])
    return buffer.getvalue()


def write_outputs(study: Study, results: dict, folder: Path, dpi: int) -> list:
    """table.md, table.csv and the figures (PNG; --quick draws them coarser, to be quick);
    returns the pages, so that the PDF need not draw them again."""
    storage.write_text(folder / "table.md", markdown(study, results))
    storage.write_text(folder / "table.csv", csv_text(study, results))
    pages = study.pages(results)
    for page in pages:
        write_atomic(folder / f"{page.stem}.png", lambda tmp: page.save_png(tmp, dpi))
    return pages


def write_pdf(studies: dict, out_dir: Path, table_pages: Callable, drawn: dict | None = None) -> list[str]:
    """experiments.pdf from every finished study under out_dir/experiments (the pages of the
    studies in `drawn`, name -> pages, are reused); returns the studies' names."""
    drawn = drawn or {}
    lines, pages, included = ["Every study, its runs and its headline. A number written 'mean ± h (n N)' is the mean "
                              "over "
                              "N seeds and h the half-width of its 95 % t-interval: the interval runs from mean - h "
                              "to mean + h.", ""], [], []
    for name, study in studies.items():
        path = out_dir / "experiments" / name / "results.json"
        results = files.load_results(path, name)
        if not results.get("finished"):
            continue
        included.append(name)
        records = planned(results)
        lines += [f"{name} ({study.spec}): {study.title}",
                  f"  {len(records)} runs, finished {results['finished']}, "
                  f"{sum(r['seconds'] for r in records) / 60:.1f} min of runs"]
        if results.get("provenance"):
            lines.append(textwrap.fill(provenance.line(results["provenance"]), 96, initial_indent="  ",
                                       subsequent_indent="    "))
        lines += [textwrap.fill(line, 96, initial_indent="  ", subsequent_indent="    ")
                  for line in [groups.budget_line(records, results.get("budget"))] + study.headline(results)
                  + unfinished(records, study.compared)] + [""]
        titles, rows = summary_table(study, results)
        pages += series(f"{name}_table", f"{study.spec}, {name}", "the table (mean ± 95 % half-width)",
                        table_pages(study.title, titles, rows, notes(study, results)))
        pages += drawn[name] if name in drawn else study.pages(results)
    if included:
        write_atomic(out_dir / PDF_NAME, lambda tmp: write_document(
            tmp, "Fashion-MNIST experiments", lines, pages, "Fashion-MNIST experiments"))
    return included

