"""Faults between processes and of the machine: a second script writing the same output folder is
refused (a lock whose holder is gone is taken over), and a disk that fills while a record or the
weights are written is one line that leaves the last complete files as they were."""
import errno
import json
import os
import pathlib
import socket
import subprocess
import sys

import pytest
import torch

import experiments
import fashionmnist
import kernel_vis
from fmnist.core import storage
from helpers import ROOT


def snapshot(folder: pathlib.Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def lock_of(pid: int, command: str = "fashionmnist.py --epochs 200") -> dict:
    return {"pid": pid, "host": socket.gethostname(), "started": storage.process_started(pid), "command": command,
            "since": "2026-12-06T10:00:00"}


@pytest.fixture
def sleeper():
    """A live process of this machine, standing for a script that writes a folder."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_a_second_writer_is_refused_in_one_line_naming_the_holder(earlier_run, sleeper, capsys):
    out, before = earlier_run
    (out / storage.LOCK).write_text(json.dumps(lock_of(sleeper.pid)))
    before = snapshot(out)
    assert kernel_vis.main(["--out-dir", str(out), "--checkpoint", str(out / "cnn.pth")]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"is being written by PID {sleeper.pid}, fashionmnist.py --epochs 200, since 2026-12-06T10:00:00" in line
    assert snapshot(out) == before  # nothing written, the holder's lock kept


def test_a_lock_whose_holder_is_gone_is_taken_over_with_a_line(tmp_path):
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    gone = int(done.stdout)
    (tmp_path / storage.LOCK).write_text(json.dumps(lock_of(gone) | {"started": "1"}))
    lines = []
    with storage.out_dir_lock(tmp_path, "report.py all", log=lines.append):
        held = json.loads((tmp_path / storage.LOCK).read_text())
        assert held["pid"] == os.getpid() and held["command"] == "report.py all"
        with storage.out_dir_lock(tmp_path, "report.py 000", log=lines.append):  # the same process: let in
            pass
        assert (tmp_path / storage.LOCK).exists()
    assert not (tmp_path / storage.LOCK).exists()  # released on the way out
    assert len(lines) == 1 and f"took over {tmp_path / storage.LOCK} from PID {gone}" in lines[0]
    assert lines[0].endswith("which is no longer running")


def test_a_reused_pid_is_not_taken_for_the_holder(tmp_path, sleeper):
    # the PID is alive, but it started at another time than the lock's holder: a new process
    (tmp_path / storage.LOCK).write_text(json.dumps(lock_of(sleeper.pid) | {"started": "1"}))
    lines = []
    with storage.out_dir_lock(tmp_path, "analyze.py", log=lines.append):
        pass
    assert len(lines) == 1 and "no longer running" in lines[0]
    (tmp_path / storage.LOCK).write_text(json.dumps(lock_of(sleeper.pid)))  # the same start time: it is the holder
    with pytest.raises(storage.UserError, match=f"being written by PID {sleeper.pid}"):
        with storage.out_dir_lock(tmp_path, "analyze.py", log=lines.append):
            pass


@pytest.mark.slow
def test_two_real_processes_on_one_out_dir(data_dir, earlier_run):
    out, _ = earlier_run
    first = subprocess.Popen([sys.executable, "-u", str(ROOT / "fashionmnist.py"), "--data-dir", str(data_dir),
                              "--out-dir", str(out), "--epochs", "200", "--batch-size", "8"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        for line in first.stdout:  # training is under way: the lock is held
            if "epoch  1/200" in line:
                break
        second = subprocess.run([sys.executable, str(ROOT / "report.py"), "001", "--out-dir", str(out)],
                                capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert second.returncode == 1
        assert f"is being written by PID {first.pid}, fashionmnist.py --data-dir" in one_line(second.stderr)
    finally:
        first.terminate()  # SIGTERM: taken as Ctrl-C
        _, err = first.communicate(timeout=60)
    assert first.returncode == 130 and "interrupted" in err
    assert not (out / storage.LOCK).exists()


def full_disk_after(monkeypatch, name: str, calls: int):
    """Make Path.write_text fill the disk on its `calls`-th write of a file whose name starts with
    `name`: half of the text is written, then ENOSPC, as a real full disk does."""
    real, seen = pathlib.Path.write_text, []

    def write_text(self, text, *args, **kwargs):
        if self.name.startswith(name):
            seen.append(self)
            if len(seen) == calls:
                real(self, text[: len(text) // 2], *args, **kwargs)
                raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, text, *args, **kwargs)
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)


@pytest.mark.slow
def test_a_full_disk_in_the_middle_of_a_record_keeps_the_last_one_and_resumes(data_dir, tmp_path, capsys,
                                                                              monkeypatch):
    argv = ["locality", "--quick", "--jobs", "1", "--data-dir", str(data_dir), "--out-dir", str(tmp_path)]
    path = tmp_path / "experiments" / "locality" / "results.json"
    full_disk_after(monkeypatch, ".results.json", calls=4)  # the plan, two runs, then the third run's record
    assert experiments.main(argv) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"experiments.py: error: no space left on the device for {path} (it needs ")
    assert "free there); the files it would have replaced are as they were" in line
    kept = json.loads(path.read_text())  # whole: the record of the first two runs
    assert len(kept["runs"]) == 2 and not list(path.parent.glob(".results.json*"))
    monkeypatch.undo()  # space freed
    assert experiments.main(argv) == 0
    assert "locality: 8 runs; 2 finished earlier are kept" in capsys.readouterr().out
    done = json.loads(path.read_text())["runs"]
    assert len(done) == 8 and all(done[k] == v for k, v in kept["runs"].items())


def test_a_full_disk_while_the_weights_are_saved_keeps_the_earlier_run(data_dir, earlier_run, capsys, monkeypatch):
    out, before = earlier_run

    def full(obj, path, *args, **kwargs):  # what torch.save raises when the device fills
        raise RuntimeError("[enforce fail at inline_container.cc:626] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")
    monkeypatch.setattr(torch, "save", full)
    assert fashionmnist.main(["--data-dir", str(data_dir), "--out-dir", str(out), "--epochs", "1"]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"fashionmnist.py: error: no space left on the device for the new outputs in {out} (")
    assert snapshot(out) == before and not list(out.glob(".staging-*"))


def test_a_write_that_finds_no_room_says_what_it_needs(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    target.write_text("{}\n")
    full_disk_after(monkeypatch, ".metrics.json", calls=1)
    with pytest.raises(storage.UserError) as info:
        storage.save_json({"x": "y" * 3 * 2**20}, target)
    assert f"no space left on the device for {target} (it needs 3.0 MiB, " in str(info.value)
    assert target.read_text() == "{}\n" and list(tmp_path.iterdir()) == [target]
