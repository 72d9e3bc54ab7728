# watchdesk: `make run` starts the monitor, `make test` runs the suite (both set up .venv first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= watchdesk.yaml

.PHONY: run test test-slow install demo bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency list changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/watchdesk --config $(CONFIG) run

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not elasticsearch" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python -m demo

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(if $(FULL),--full,)

lint: $(STAMP)
	$(BIN)/ruff check crawler spiders enrich alerts tests benchmarks demo

clean:
	rm -rf var .pytest_cache .ruff_cache
