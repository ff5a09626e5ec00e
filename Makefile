# Two commands do all the set-up on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test fuzz lint audit constraints load-storefront load-portal load-retraining clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# constraints.txt pins every package to the version the suite passed with, so a fresh machine
# installs what was tested; the extras: load (locust) and tune (optuna) are for load/ and
# `atelier train --search optuna`, dev for the suite. The typed client (client/, its own
# package) is installed beside the service: its tests run against a live server in `make test`.
$(STAMP): pyproject.toml client/pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,load,tune]' -e ./client
	touch $(STAMP)

# After a dependency change in pyproject.toml: install it, run `make test`, then pin what passed.
constraints: $(STAMP)
	{ echo "# The versions the suite passed with (make constraints: pip freeze of the tested venv,"; \
	  echo "# without the project itself). Used by make and the Dockerfile: pip install -c constraints.txt"; \
	  $(BIN)/pip freeze --exclude-editable | grep -v '^atelier'; } > constraints.txt

serve: $(STAMP)
	$(BIN)/atelier serve --demo

# Every package folder: type-checked and its doctests run.
PACKAGES := core settings access store events customers dialogue recommender insights configurator training api cli demo console client/atelier_client

test: lint
	$(BIN)/pytest -q -p no:cacheprovider

# The long fuzz run: tests/api/test_fuzz.py (schemathesis against a served instance, every
# operation and phase) with 160 examples per operation (make test: 10): over 10,000 cases.
FUZZ_EXAMPLES ?= 160
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider --timeout 3000 tests/api/test_fuzz.py

# House style: formatting, lint (complexity included), types, import layers, doctests.
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy $(PACKAGES)
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider --doctest-modules $(PACKAGES) .ci/audit.py

# Known vulnerabilities of the installed dependencies (.ci/audit.py: accepted ones and why are in
# .ci/audit-accepted.json). Says NOT AUDITED, and fails, when no vulnerability service answers;
# AUDIT_FLAGS=--allow-unreachable (CI) says so and goes on.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py $(AUDIT_FLAGS)

# Load scenarios of the three callers (load/run_callers.py): by default each runs on both stores
# with 1 and 2 workers (Redis: database 14 of 127.0.0.1:6379, under a prefix of its own, deleted
# after); CSV and markdown tables go to data/load/. E.g. LOAD_FLAGS="--store redis --workers 2".
LOAD_FLAGS ?= --matrix --seconds 45
load-storefront load-portal load-retraining: load-%: $(STAMP)
	$(BIN)/python load/run_callers.py $* $(LOAD_FLAGS)

# Benchmarks with their defaults (not part of `make test`; tens of minutes on a quiet machine):
# recommendation quality through the product path (ingest, the default train, the service's
# answers) on ML-100K (rating and purchase events), MovieLens latest-small and Online Retail,
# then the cheaper ones in load/. Each prints its own table and verdicts; nice'd, the machine is
# shared.
BENCH := nice -n 5 $(BIN)/python
bench: $(STAMP)
	$(BENCH) load/bench_reco_quality_ml100k.py
	$(BENCH) load/bench_reco_quality_ml100k.py --as purchase
	$(BENCH) load/bench_reco_quality_ml100k.py --dataset ml-latest-small
	$(BENCH) load/bench_reco_quality_online_retail.py
	$(BENCH) load/bench_reco_train.py
	$(BENCH) load/bench_event_files.py
	$(BENCH) load/bench_value_cdnow.py
	$(BENCH) load/bench_value_online_retail.py
	$(BENCH) load/bench_configurator.py

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
