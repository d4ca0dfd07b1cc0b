# make run: train and evaluate both networks, then the kernel figures and the PDF.
# make test: the test suite (CPU, no network, synthetic data).
# make analyze: after make run, what the networks learned (analysis.pdf).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test analyze benchmark clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) fashionmnist.py
	$(PY) kernel_vis.py

test: $(VENV)/.installed
	$(PY) -m pytest -q

analyze: $(VENV)/.installed
	$(PY) analyze.py

benchmark: $(VENV)/.installed
	$(PY) benchmark.py

clean:
	rm -rf $(VENV) .pytest_cache __pycache__ tests/__pycache__ fmnist/__pycache__
