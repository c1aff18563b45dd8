# One-command entry points. `make demo` runs a real sync; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint check bench mutation clean

$(BIN)/imgsync: pyproject.toml
	scripts/install-system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

setup: $(BIN)/imgsync

demo: setup
	$(BIN)/python scripts/demo.py

lint: setup
	$(BIN)/ruff check src tests scripts bench
	$(BIN)/ruff format --check src tests scripts bench
	$(BIN)/mypy

test: setup
	$(BIN)/pytest -q

check: lint test

bench: setup
	$(BIN)/pip install -q -e ".[test,bench]"
	# byte-compiled as a wheel install would be (PYTHONDONTWRITEBYTECODE leaves it uncompiled)
	$(BIN)/python -m compileall -q src/imgsync
	$(BIN)/python -m bench

# Every mutant of the pipeline's decisions must be killed by the fast unit tests (docs/testing.md).
mutation: setup
	$(BIN)/pip install -q -e ".[test,mutation]"
	$(BIN)/python scripts/mutation.py


clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .demo
