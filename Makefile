# watchdesk: `make run` starts the monitor, `make test` runs the suite (both set up .venv first).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= watchdesk.yaml

.PHONY: run test test-slow install demo bench lint docs constraints clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the dependency list changes. `make run` installs the runtime dependencies
# only; the test and lint targets add the test extras. Both install the versions CI tested
# (constraints.txt).
$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

TEST_STAMP := $(VENV)/.test-installed
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/watchdesk --config $(CONFIG) run

# Debian packages some tests drive: Chromium for the browser tests (Playwright cannot download
# browsers here), Redis for the scale-out tests and PostgreSQL for the store's second engine
# (the tests start their own throwaway cluster; the server binaries live under
# /usr/lib/postgresql/<version>/bin, so the target is the package's `pg_ctlcluster`). Without
# apt (or without root) those tests are skipped with a reason instead of failing the run.
CHROMIUM := /usr/bin/chromium
REDIS := /usr/bin/redis-server
POSTGRES := /usr/bin/pg_ctlcluster
define apt_install
	@if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) >/dev/null) || \
		echo "$(1) could not be installed: its tests will be skipped"; \
	else echo "no apt-get as root: the tests needing $(1) will be skipped"; fi
endef
$(CHROMIUM):
	$(call apt_install,chromium)
$(REDIS):
	$(call apt_install,redis-server)
$(POSTGRES):
	$(call apt_install,postgresql)

# Elasticsearch tests skip themselves, with the reason shown (-rs), unless
# WATCHDESK_TEST_ES_URL points at a real cluster. The suite runs in TEST_WORKERS processes
# (pytest-xdist; each starts its own Postgres and Redis): most tests wait on loopback servers
# and child processes, so three workers on two cores took the run from 18.5 to 10.6 minutes.
# TEST_WORKERS=0 runs it in one process (for debugging with -x or pdb).
TEST_WORKERS ?= 3
test: $(TEST_STAMP) $(CHROMIUM) $(REDIS) $(POSTGRES)
	$(BIN)/python -m pytest -q -rs -m "not slow" -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-slow: $(TEST_STAMP) $(CHROMIUM) $(REDIS) $(POSTGRES)
	$(BIN)/python -m pytest -q -rs -m "slow" $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/python -m demo

# The benchmarks' own extras (plots, baselines) on top of the test install.
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): pyproject.toml | $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,bench]'
	touch $(BENCH_STAMP)

bench: $(TEST_STAMP) $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py $(if $(FULL),--full,)

# What CI gates on besides the tests: lint, formatting, types, and the layers contract
# (pyproject.toml [tool.importlinter]: each layer imports only the layers below it).
SOURCES := crawler spiders enrich alerts watchdesk tests benchmarks demo docs
lint: $(TEST_STAMP)
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy crawler spiders enrich alerts watchdesk
	$(BIN)/lint-imports

# docs/cli.md, generated from the CLI (tests/test_docs.py fails when it is stale).
docs: $(TEST_STAMP)
	$(BIN)/python -m watchdesk.cli.reference > docs/cli.md
	$(BIN)/python docs/layers.py --write

# The pins CI tests with, from the test venv as it is now.
constraints: $(TEST_STAMP)
	{ sed -n '1,2p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -v '^watchdesk'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf var .pytest_cache .ruff_cache
