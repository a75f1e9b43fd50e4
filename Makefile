# The two commands of the README: `make demo` and `make test`. Everything else supports them.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
SIM_PORT ?= 8765

.PHONY: install demo ui test test-fast lint clean companion-firefox

# Re-install when pyproject.toml changes; a fresh machine gets the venv from scratch.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

## Sync two demo hosts from the simulator into the embedded SQLite warehouse, and show them.
demo: install
	$(BIN)/airbnb-sync demo

## Open the demo's data in the Dagster UI (http://127.0.0.1:3000), with the simulator running.
ui: install
	$(BIN)/airbnb-sync demo --ui --simulator-port $(SIM_PORT)

## The test suite (CI sets the database URLs; see .ci/run).
test: install lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

## The unit tests (about 2 minutes of CPU, README: Tests): SQLite only, no end-to-end,
## fault or deployment suites, and none of the tests marked slow (they spawn processes or run
## Dagster jobs).
test-fast: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not postgres and not faults and not slow" \
		--ignore=airbnb_sync_tests/e2e --ignore=airbnb_sync_tests/faults \
		--ignore=airbnb_sync_tests/deploy

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

## The browser companion as Firefox loads it: the same files, manifest.firefox.json as manifest.json.
companion-firefox:
	rm -rf build/companion-firefox
	mkdir -p build
	cp -R companion build/companion-firefox
	mv build/companion-firefox/manifest.firefox.json build/companion-firefox/manifest.json

clean:
	rm -rf $(VENV) .dagster_home *.egg-info build/companion-firefox
