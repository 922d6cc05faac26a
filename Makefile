# Two commands on a fresh machine (see README):
#   make demo   shapes dataset -> train cifarnet -> evaluate -> export -> freeze -> classify
#   make test   the whole test suite, less the tests marked heavy
#   make test-heavy   those: larger networks' parity, multi-process accuracy
# Both create (once) and reuse the virtual environment .venv in this checkout.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-heavy venv bench

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	bash scripts/demo_shapes.sh

test: $(STAMP)
	$(PY) -m pytest -q --durations=25 tests $(PYTEST_ARGS)

test-heavy: $(STAMP)
	SLIM_HEAVY_TESTS=1 $(PY) -m pytest -q --durations=25 -m heavy tests $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_nets.py
