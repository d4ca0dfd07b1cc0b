"""The package's own JSON files, damaged or of the wrong shape: every script that reads one
refuses it in one line naming the file, exits 1, and changes nothing.

The mutations come from the real files of a run on the synthetic data: every top-level key
set to each type its schema does not accept (a list, a number, a string, null) and removed
where it is required; the whole file replaced by another type; the file cut short."""
import json
import shutil
import subprocess
import sys

import pytest

import analyze
import experiments
import fashionmnist
import kernel_vis
from fmnist.core import files, storage
from helpers import ROOT

WRONG = ([1, 2], 3, "text", None)


def mutations(original: dict, schema: dict):
    """(label, bytes) for each damaged variant of `original`."""
    for key, sub in schema.items():
        name = key.rstrip("?")
        if name not in original:
            continue
        for value in WRONG:
            if storage.schema_problem(value, sub, name) is None:  # a value of this type is allowed here
                continue
            yield f"{name} = {json.dumps(value)}", json.dumps({**original, name: value}).encode()
        if not key.endswith("?"):
            yield f"{name} missing", json.dumps({k: v for k, v in original.items() if k != name}).encode()
    for value in WRONG:
        yield f"the whole file {json.dumps(value)}", json.dumps(value).encode()
    raw = json.dumps(original, indent=1).encode()
    for cut in (1, len(raw) // 4, len(raw) // 2, len(raw) - 2):
        yield f"cut at byte {cut}", raw[:cut]


@pytest.fixture(scope="module")
def study_run(_pristine, tmp_path_factory):
    """A complete run's output folder with a quick locality study in it."""
    data_dir, pristine = _pristine
    out = tmp_path_factory.mktemp("files") / "out"
    shutil.copytree(pristine, out)
    assert experiments.main(["locality", "--quick", "--data-dir", str(data_dir), "--out-dir", str(out)]) == 0
    return data_dir, out


def snapshot(folder):
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def refuse_each(capsys, target, schema, readers):
    original = json.loads(target.read_text())
    folder = target.parents[2] if target.name == "results.json" else target.parent
    cases = 0
    for label, damaged in mutations(original, schema):
        target.write_bytes(damaged)
        before = snapshot(folder)
        for name, call in readers.items():
            code = call()
            err = capsys.readouterr().err
            lines = err.strip().splitlines()
            assert code == 1, f"{name}, {label}: exit {code}\n{err}"
            assert len(lines) == 1 and str(target) in lines[0] and "Traceback" not in err, f"{name}, {label}: {err}"
            assert snapshot(folder) == before, f"{name}, {label}: something was written"
            cases += 1
    return cases


@pytest.mark.slow
def test_damaged_metrics_json_is_refused_by_every_reader(earlier_run, data_dir, capsys):
    out, _ = earlier_run
    base = ["--out-dir", str(out), "--data-dir", str(data_dir)]
    readers = {"fashionmnist.py --skip-train": lambda: fashionmnist.main(base + ["--skip-train"]),
               "fashionmnist.py --model cnn": lambda: fashionmnist.main(base + ["--model", "cnn", "--epochs", "1"]),
               "kernel_vis.py": lambda: kernel_vis.main(base + ["--checkpoint", str(out / "cnn.pth")]),
               "analyze.py": lambda: analyze.main(base + ["--quick"])}
    assert refuse_each(capsys, out / "metrics.json", files.METRICS, readers) >= 100


@pytest.mark.slow
def test_damaged_study_results_are_refused_by_every_reader(study_run, capsys):
    data_dir, out = study_run
    target = out / "experiments" / "locality" / "results.json"
    base = ["--out-dir", str(out), "--data-dir", str(data_dir)]
    readers = {"experiments.py locality": lambda: experiments.main(["locality", "--quick"] + base),
               "experiments.py variants": lambda: experiments.main(["variants", "--quick"] + base),
               "kernel_vis.py": lambda: kernel_vis.main(base + ["--checkpoint", str(out / "cnn.pth")]),
               "fashionmnist.py --skip-train": lambda: fashionmnist.main(base + ["--skip-train"])}
    schema = {**files.RESULTS, "finish?": files.LOCALITY_FINISH}
    assert refuse_each(capsys, target, schema, readers) >= 100
    target.write_text(json.dumps({"study": "locality", "plan": [], "runs": [1], "finished": None}))
    assert experiments.main(["locality", "--quick"] + base) == 1
    err = capsys.readouterr().err
    assert "`runs` is a list, expected an object keyed by run" in err and "locality --fresh" in err


@pytest.mark.slow
def test_fresh_replaces_an_unreadable_study_file(study_run, capsys):
    data_dir, out = study_run
    target = out / "experiments" / "locality" / "results.json"
    target.write_text('{"study": "locality", "runs": ')
    assert experiments.main(["locality", "--quick", "--fresh", "--out-dir", str(out), "--data-dir", str(data_dir)]) == 0
    assert len(json.loads(target.read_text())["runs"]) == 8


@pytest.mark.slow
def test_a_misshapen_metrics_json_is_one_line_from_a_real_process(earlier_run, data_dir):
    out, _ = earlier_run
    (out / "metrics.json").write_text("[1, 2]")
    result = subprocess.run([sys.executable, str(ROOT / "kernel_vis.py"), "--out-dir", str(out), "--data-dir",
                             str(data_dir), "--checkpoint", str(out / "cnn.pth")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"kernel_vis.py: error: {out / 'metrics.json'} holds a list, expected an object; "
                                     f"{files.METRICS_REMAKE}")
