# make run: train and evaluate both networks, then the kernel figures and the PDF (kernel_vis.py writes it).
# make test: the whole test suite (CPU, no network, synthetic data), one pytest-xdist worker per core.
# make test-fast: every test not marked slow (no end-to-end run, real process or pdflatex; under a minute).
# make lint: ruff, with pyproject.toml's rules.
# make analyze: after make run, what the networks learned (analysis.pdf).
# make experiments: every study of experiments.py (experiments.pdf; each study's time against make run: README's studies table).
# make reports: one report per spec (report_000/001/003/004.pdf) from what the others wrote; trains nothing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test test-fast lint analyze experiments reports benchmark clean

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:3]; sys.exit(0 if v >= (3, 11) else "make: Python 3.11 or newer is needed, $(PYTHON) is %d.%d.%d; run make PYTHON=python3.11 (or newer)" % v)'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) fashionmnist.py --no-pdf
	$(PY) kernel_vis.py

test: $(VENV)/.installed
	$(PY) -m pytest -q -n auto

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -n auto -m "not slow"

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

analyze: $(VENV)/.installed
	$(PY) analyze.py

experiments: $(VENV)/.installed
	$(PY) experiments.py all

reports: $(VENV)/.installed
	$(PY) report.py all

benchmark: $(VENV)/.installed
	$(PY) benchmark.py

clean:
	rm -rf $(VENV) .venv-plain .pytest_cache
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +
