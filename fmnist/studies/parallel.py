"""Many runs at once: here one after another, on joblib's worker processes (--jobs), or on the
workers of a Dask cluster (--scheduler); a dead worker costs only its runs, and a cluster that
cannot run the package's tasks is one line.
"""
import contextlib
import datetime
import re
import time
from concurrent.futures import CancelledError
from pathlib import Path

import torch

from fmnist.core import data, provenance, storage
from fmnist.core.device import cores
from fmnist.core.training import Diverged
from fmnist.studies.configs import RunConfig
from fmnist.studies.study import Context, Options, Study, short_names

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
    seen: set = set()  # the Dask worker losses already told
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
                        if ctx.options.scheduler:
                            for line in dask_losses(client, seen):
                                log(line)
                        yield key, record
                    break
                except CancelledError as err:  # Dask: the scheduler is gone (every task of the client cancelled)
                    why = str(err).split("reason: ")[-1].split(".")[0] if "reason: " in str(err) else "cancelled"
                    raise storage.UserError(
                        f"--scheduler {ctx.options.scheduler}: the cluster stopped answering ({why}); the finished "
                        "runs are kept in results.json: start the scheduler again (docs/cluster.md) and run the same "
                        "command"
                    ) from None
                except LOST as err:
                    names = short_names([c["name"] for _, c in left])
                    if attempt == RETRIES:
                        raise storage.UserError(
                            f"a worker died under {names} {RETRIES + 1} times ({lost_reason(err)}); the finished runs "
                            "are kept in results.json; give each run more memory (fewer --jobs) and run the same "
                            "command again") from None
                    log(f"a worker died ({lost_reason(err)}); the finished runs are kept and the "
                        f"{len(left)} unfinished ({names}) start again on fresh workers")


def dask_losses(client, seen: set) -> list[str]:
    """A line for each Dask worker that died with runs in progress since the last call (the
    scheduler's remove-worker events not expected by it): Dask itself starts those runs again on
    another worker, so the study goes on; `seen` holds the losses already told."""
    lines = []
    for when, event in client.get_events("all"):
        if not isinstance(event, dict) or event.get("action") != "remove-worker" or event.get("expected"):
            continue
        lost = event.get("processing-tasks")
        if lost and when not in seen:
            seen.add(when)
            lines.append(
                f"a Dask worker died ({event.get('worker')}) with {len(lost)} batch{'es' if len(lost) > 1 else ''} "
                "of runs in progress; Dask starts them again on another worker and the finished runs are kept"
            )
    return lines


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
