"""Setting up anywhere: an unsupported Python gets one line and exit 1, before any import fails."""
import subprocess
import sys

import pytest

from fmnist.core.python_version import MINIMUM, require
from helpers import ROOT

SCRIPTS = ["fashionmnist.py", "kernel_vis.py", "analyze.py", "experiments.py", "report.py", "benchmark.py"]


def test_require_accepts_this_python_and_refuses_an_older_one(capsys):
    require("x.py")  # this interpreter runs the suite, so it is supported
    with pytest.raises(SystemExit) as info:
        require("x.py", (3, 10, 12, "final", 0))
    assert info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "3.11 or newer" in err[0] and "3.10.12" in err[0]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_each_script_refuses_a_stub_old_python_in_one_line(script):
    # The stub replaces sys.version_info, then runs the script as `python SCRIPT` would.
    stub = ("import sys, runpy; sys.version_info = (3, 10, 4, 'final', 0); "
            f"sys.path.insert(0, {str(ROOT)!r}); sys.argv = [{script!r}]; "
            f"runpy.run_path({str(ROOT / script)!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", stub + "\nprint('still running')"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and "3.10.4" in done.stderr
    assert done.stdout == ""  # exited before reaching anything else


@pytest.mark.slow
def test_makefile_refuses_an_old_python(tmp_path):
    fake = tmp_path / "python3.10"
    fake.write_text(f"#!/bin/sh\nexec {sys.executable} -c \"import sys; sys.version_info = (3, 10, 0); "
                    f"exec(sys.argv[1])\" \"$2\"\n")
    fake.chmod(0o755)
    done = subprocess.run(["make", "-C", str(ROOT), "-B", f"PYTHON={fake}", f"VENV={tmp_path / 'venv'}",
                           "test"], capture_output=True, text=True, timeout=60)
    assert MINIMUM == (3, 11)
    assert done.returncode != 0 and "Python 3.11 or newer is needed" in done.stderr
