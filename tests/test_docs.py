"""The README's numbers against the outputs they describe: each study's row (runs, how they
stopped, images, time and its ratio to make run) is what its committed results.json gives."""
import json
import re
from pathlib import Path

import experiments
from fmnist.studies import tables

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_s_study_rows_are_computed_from_the_committed_results():
    readme = (ROOT / "README.md").read_text()
    found = re.search(r"divides by a `make run` of ([\d.]+) s", readme)
    assert found, "README.md names the make run its study ratios divide by"
    for name, study in experiments.STUDIES.items():
        results = json.loads((ROOT / "outputs" / "experiments" / name / "results.json").read_text())
        row = tables.timing_row(study, results, float(found.group(1)))
        assert row in readme, f"README.md's row of {name} should read:\n{row}"
