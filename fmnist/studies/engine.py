"""experiments.py's run loop: a study is a list of runs, each saved the moment it finishes.

A run is keyed by its full configuration (a hash of its canonical JSON), so a rerun skips
what is already in results.json and `--fresh` redoes it. results.json is replaced whole
(written beside it, then renamed), so Ctrl-C, a crash or a full disk loses at most the run in
progress and never leaves a half-written file. When every run is in, the study's table,
figures and the shared experiments.pdf are rebuilt from results.json alone (tables.py).
"""
import datetime
import hashlib
import json
import time
from pathlib import Path

import torch

from fmnist.core import files, provenance, storage
from fmnist.core.training import LOSSES, Diverged, batch_loss
from fmnist.studies import groups
from fmnist.studies.configs import RunConfig
from fmnist.studies.parallel import execute, jobs_and_threads
from fmnist.studies.study import Context, Study, as_config, clock, planned, run_key, short_names
from fmnist.studies.tables import write_outputs


def fingerprint(study: Study, config: dict) -> str:
    """What computes a run besides its configuration: the structure and class source of each
    of its networks and the training objective (provenance.network_fingerprint). A finished
    run whose fingerprint differs from today's was computed by other code and is redone.
    (Building the networks draws from torch's global generator; every run is seeded anew.)"""
    objective = LOSSES.get(config.get("loss"), batch_loss)  # the function its training loss comes from
    parts = [provenance.network_fingerprint(m, objective) for m in study.networks(config)]
    return hashlib.sha256(" ".join(parts).encode()).hexdigest()[:16]


def short_epochs(record: dict, config: RunConfig) -> bool:
    """Whether a finished run trained with epochs of fewer optimizer steps than today's rule gives
    (TrainSettings.min_steps: a run from before that rule, on a small training set); it is redone.
    A record without `epoch_steps` made one pass an epoch."""
    steps = groups.epoch_steps({**record, "config": config})
    return steps is not None and steps < config.settings().min_steps


def save_results(results: dict, path: Path) -> None:
    """One line per run and one for the finish (figure data makes them long), written whole or not at
    all (a full disk leaves the last complete record)."""
    runs = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in results["runs"].items())
    rest = json.dumps({k: v for k, v in results.items() if k not in ("runs", "finish")}, indent=1)
    finish = f'"finish": {json.dumps(results["finish"])},\n' if "finish" in results else ""
    storage.write_text(path, rest[:-2] + ",\n" + finish + '"runs": {\n' + runs + "\n}}\n")


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
    if "train" in ctx.splits:  # what the budget lines state a share of
        results["pool"] = study.pool(ctx.splits)
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
    short = [c["name"] for k, c in zip(keys, configs) if k in results["runs"] and short_epochs(results["runs"][k], c)]
    done = lambda k, c: (k in results["runs"] and results["runs"][k].get("fingerprint") == prints[k]  # noqa: E731
                         and not short_epochs(results["runs"][k], c)
                         and all((ctx.folder / f).is_file() for f in study.files(c)))
    todo = [(k, c) for k, c in zip(keys, configs) if not done(k, c)]
    redone = {c["name"] for _, c in todo}  # a run that starts from one being (re)done now is redone too
    todo += [(k, c) for k, c in zip(keys, configs)
             if c.get("upstream") in redone and study.files(c) and (k, c) not in todo]
    todo.sort(key=lambda kc: keys.index(kc[0]))
    kept = [c["name"] for k, c in zip(keys, configs) if done(k, c)]
    log(f"{study.name}: {len(configs)} runs" + (f"; {len(kept)} finished earlier are kept ({short_names(kept)}); "
                                                 "--fresh redoes them" if kept else ""))
    if stale:
        log(f"{len(stale)} run{'s' if len(stale) != 1 else ''} redone: their network or objective changed since they "
            f"ran ({short_names(stale)})")
    if short:
        log(f"{len(short)} run{'s' if len(short) != 1 else ''} redone: trained before an epoch became at least "
            f"{configs[0].settings().min_steps} optimizer steps ({short_names(short)})")
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
