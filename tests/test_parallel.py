"""Many runs at once: --jobs N on this machine's worker processes and --scheduler on a Dask
cluster give the same records as one run after another (at equal torch thread counts), and
Ctrl-C during a parallel study keeps every run that finished."""
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import experiments
from fmnist.studies import parallel
from fmnist.studies.configs import RunConfig
from fmnist.studies.study import Options

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data_dir_module(_pristine) -> Path:
    """The session's synthetic dataset, only read here."""
    return _pristine[0]


def _measured(out: Path) -> dict:
    """Per run key: what a run measured (its history, validation, training and test scores) and its threads."""
    runs = json.loads((out / "experiments" / "locality" / "results.json").read_text())["runs"]
    return {k: (r["history"] and [(e["train_loss"], e["val_loss"]) for e in r["history"]],
                r["val"], r["train"], r["test"], r["threads"]) for k, r in runs.items()}


def _quick(out: Path, data_dir: Path, *flags) -> int:
    return experiments.main(["locality", "--quick", "--threads", "1", "--data-dir", str(data_dir),
                             "--out-dir", str(out), *flags])


@pytest.fixture(scope="module")
def one_by_one(quick_locality):
    return _measured(quick_locality)


KILLER = """
import copy, os, signal, sys
from pathlib import Path
import experiments
study, marker = experiments.STUDIES["locality"], Path(sys.argv[1])
killer = copy.copy(study)
def run(config, ctx):
    if config["seed"] == 1 and not marker.exists():  # the first seed-1 run to start kills its worker, once
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return study.run(config, ctx)
killer.run = run
experiments.STUDIES["locality"] = killer
sys.exit(experiments.main(sys.argv[2:]))
"""


def _killing(tmp_path: Path, data_dir: Path, *flags) -> subprocess.CompletedProcess:
    """The quick locality study in a process of its own, whose first seed-1 run kills the worker
    process that runs it (as the kernel's out-of-memory killer would)."""
    driver = tmp_path / "killer.py"
    driver.write_text(KILLER)
    argv = ["locality", "--quick", "--threads", "1", "--data-dir", str(data_dir), "--out-dir", str(tmp_path), *flags]
    return subprocess.run([sys.executable, str(driver), str(tmp_path / "killed"), *argv], capture_output=True,
                          text=True, timeout=240, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.slow
def test_a_killed_joblib_worker_costs_only_its_run(one_by_one, data_dir_module, tmp_path):
    done = _killing(tmp_path, data_dir_module, "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "killed").exists()  # a worker was killed
    assert "a worker died (exit SIGKILL(-9); killed, perhaps for want of memory); the finished runs are kept" \
        in done.stdout
    # every run, seed by seed, with the numbers of one process at 1 thread each (so --jobs 2 too)
    assert _measured(tmp_path).keys() == one_by_one.keys() and _measured(tmp_path) == one_by_one


@contextlib.contextmanager
def dask_cluster(tmp_path: Path, env: dict, workers: int = 2):
    """A Dask scheduler and workers, each a process started with docs/cluster.md's commands; yields
    the scheduler's address."""
    bin_dir, file = Path(sys.executable).parent, tmp_path / "scheduler.json"
    common = dict(cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs = [subprocess.Popen([str(bin_dir / "dask"), "scheduler", "--scheduler-file", str(file), "--port", "0",
                               "--no-dashboard"], **common)]
    try:
        for _ in range(300):
            if file.is_file():
                break
            time.sleep(0.1)
        procs.append(subprocess.Popen([str(bin_dir / "dask"), "worker", "--scheduler-file", str(file), "--nworkers",
                                       str(workers), "--nthreads", "1", "--no-dashboard"], **common))
        yield json.loads(file.read_text())["address"]
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.slow
def test_a_dask_worker_killed_mid_study_costs_only_its_run(one_by_one, data_dir_module, tmp_path):
    pytest.importorskip("distributed")  # an optional extra; CI installs it
    with dask_cluster(tmp_path, {**os.environ, "PYTHONPATH": str(ROOT)}) as address:
        done = _killing(tmp_path, data_dir_module, "--scheduler", address)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "killed").exists()
    assert "a Dask worker died (tcp://" in done.stdout and "Dask starts them again on another worker" in done.stdout
    assert _measured(tmp_path) == one_by_one  # the lost run redone on another worker: the same numbers


@pytest.mark.slow
def test_a_cluster_that_cannot_import_the_package_is_one_line_not_a_hang(data_dir_module, tmp_path, capsys):
    pytest.importorskip("distributed")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # started outside the repository
    with dask_cluster(tmp_path, env, workers=1) as address:
        began = time.perf_counter()
        assert _quick(tmp_path / "out", data_dir_module, "--scheduler", address) == 1
        assert time.perf_counter() - began < 60
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot import the package (No module named 'fmnist')" in err
    assert "pip install -e ." in err


def test_upstream_runs_come_first_and_jobs_share_the_cores(monkeypatch):
    todo = [("a", RunConfig(study="t", name="sweep 1", upstream="up")), ("b", RunConfig(study="t", name="up")),
            ("c", RunConfig(study="t", name="sweep 2", upstream="up"))]
    assert [[k for k, _ in wave] for wave in parallel.waves(todo)] == [["b"], ["a", "c"]]
    monkeypatch.setattr(parallel, "cores", lambda: 8)
    assert parallel.jobs_and_threads(Options()) == (4, 2)  # one job per two cores
    assert parallel.jobs_and_threads(Options(jobs=3)) == (3, 2)
    assert parallel.jobs_and_threads(Options(jobs=2, threads=1)) == (2, 1)
    assert parallel.jobs_and_threads(Options(), runs=1) == (4, 8)  # an upstream run alone: every core
    assert parallel.jobs_and_threads(Options(), runs=3) == (4, 2)  # 3 busy of 4: 8 // 3 threads each
    assert parallel.jobs_and_threads(Options(jobs=2, threads=1), runs=1) == (2, 1)  # --threads is kept


DRIVER = """
import copy, sys, time
sys.path.insert(0, {root!r})
import experiments
study = experiments.STUDIES["locality"]
slow = copy.copy(study)
def run(config, ctx):
    if config["seed"] == 1:
        time.sleep(300)  # busy when Ctrl-C comes
    return study.run(config, ctx)
slow.run = run
experiments.STUDIES["locality"] = slow
sys.exit(experiments.main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_ctrl_c_during_a_parallel_study_keeps_every_finished_run(data_dir_module, tmp_path, capsys):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER.format(root=str(ROOT)))
    out = tmp_path / "out"
    argv = ["locality", "--quick", "--jobs", "2", "--threads", "1", "--data-dir", str(data_dir_module),
            "--out-dir", str(out)]
    proc = subprocess.Popen([sys.executable, str(driver), *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    path, runs, waited = out / "experiments" / "locality" / "results.json", {}, 0.0
    while waited < 120 and len(runs) < 2:  # the seed-0 runs finish; both workers then sit in seed-1 runs
        time.sleep(0.2)
        waited += 0.2
        if path.is_file():
            runs = json.loads(path.read_text())["runs"]
    assert len(runs) >= 2, "no run finished in time"
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)  # Ctrl-C does not wait for the runs in progress
    assert proc.returncode == 130 and "kept in its study's results.json" in err
    kept = json.loads(path.read_text())["runs"]
    assert len(kept) >= 2 and all(r["config"]["seed"] == 0 for r in kept.values())
    assert experiments.main(argv) == 0  # the same command goes on from there
    assert f"locality: 8 runs; {len(kept)} finished earlier are kept" in capsys.readouterr().out
    done = json.loads(path.read_text())["runs"]
    assert len(done) == 8 and all(done[k] == v for k, v in kept.items())


def test_a_scheduler_that_is_not_there_is_one_line(data_dir_module, tmp_path, capsys):
    pytest.importorskip("distributed")
    assert _quick(tmp_path, data_dir_module, "--scheduler", "bogus://nowhere") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("experiments.py: error: --scheduler bogus://nowhere: no Dask")
