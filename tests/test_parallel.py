"""Many runs at once: --jobs N on this machine's worker processes and --scheduler on a Dask
cluster give the same records as one run after another (at equal torch thread counts), and
Ctrl-C during a parallel study keeps every run that finished."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import experiments
from fmnist.studies import engine
from fmnist.studies.configs import RunConfig

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
def one_by_one(tmp_path_factory, data_dir_module):
    out = tmp_path_factory.mktemp("jobs1")
    assert _quick(out, data_dir_module, "--jobs", "1") == 0
    return _measured(out)


@pytest.mark.slow
def test_two_jobs_give_the_records_of_one(one_by_one, data_dir_module, tmp_path):
    assert _quick(tmp_path, data_dir_module, "--jobs", "2") == 0
    two = _measured(tmp_path)
    assert two.keys() == one_by_one.keys() and len(two) == 8
    assert two == one_by_one  # numbers equal, seed by seed, at 1 thread each


@pytest.mark.slow
def test_a_dask_cluster_gives_the_records_of_one_process(one_by_one, data_dir_module, tmp_path):
    distributed = pytest.importorskip("distributed")  # an optional extra; CI installs it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert _quick(tmp_path, data_dir_module, "--scheduler", cluster.scheduler_address) == 0
    assert _measured(tmp_path) == one_by_one


def test_upstream_runs_come_first_and_jobs_share_the_cores(monkeypatch):
    todo = [("a", RunConfig(study="t", name="sweep 1", upstream="up")), ("b", RunConfig(study="t", name="up")),
            ("c", RunConfig(study="t", name="sweep 2", upstream="up"))]
    assert [[k for k, _ in wave] for wave in engine.waves(todo)] == [["b"], ["a", "c"]]
    monkeypatch.setattr(engine, "cores", lambda: 8)
    assert engine.jobs_and_threads(engine.Options()) == (4, 2)  # one job per two cores
    assert engine.jobs_and_threads(engine.Options(jobs=3)) == (3, 2)
    assert engine.jobs_and_threads(engine.Options(jobs=2, threads=1)) == (2, 1)
    assert engine.jobs_and_threads(engine.Options(), runs=1) == (4, 8)  # an upstream run alone: every core
    assert engine.jobs_and_threads(engine.Options(), runs=3) == (4, 2)  # 3 busy of 4: 8 // 3 threads each
    assert engine.jobs_and_threads(engine.Options(jobs=2, threads=1), runs=1) == (2, 1)  # --threads is kept


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
