# The two commands a newcomer needs: `make run` and `make test`. Everything else is a helper.
VENV   ?= .venv
PYTHON ?= python3
FLASK  := $(VENV)/bin/flask --app wsgi
PYTEST_ARGS ?=
# Where `make run` serves: `make run PORT=5001 HOST=0.0.0.0` (or the same in the environment).
PORT   ?= 5000
HOST   ?= 127.0.0.1

.PHONY: run test lint typecheck pytest openapi bench clean translations screenshots

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	touch $@

## Set up and serve the API on the embedded defaults (SQLite, local Redis) with demo data.
run: $(VENV)/.installed
	-@bash .ci/system-deps redis-server
	@$(FLASK) run-demo --host '$(HOST)' --port '$(PORT)'

## Set up and run ruff, mypy and the whole pytest suite (SQLite, PostgreSQL, Redis).
test: $(VENV)/.installed
	@bash .ci/system-deps postgresql redis-server chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## Regenerate the committed OpenAPI document after an API change.
openapi: $(VENV)/.installed
	DATABASE_URL=sqlite:// $(FLASK) openapi write --format json openapi/openapi.json

## Extract the console's messages, merge them into the Swedish catalogue, compile it.
CATALOGUE := backend/console/translations
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F backend/console/babel.cfg -k _l -k lazy_gettext \
	  --no-location --omit-header --sort-output -o $(CATALOGUE)/messages.pot .
	$(VENV)/bin/pybabel update -i $(CATALOGUE)/messages.pot -d $(CATALOGUE) \
	  --no-fuzzy-matching --ignore-obsolete --ignore-pot-creation-date
	$(VENV)/bin/pybabel compile -d $(CATALOGUE)

## Screenshots of the console with demo data, in docs/screenshots/ (the same Chromium as the tests).
screenshots: $(VENV)/.installed
	@bash .ci/system-deps redis-server chromium
	$(VENV)/bin/python -m tests.screenshots docs/screenshots

## Run every benchmark (prints ratios against baselines measured in the same run).
bench: $(VENV)/.installed
	@bash .ci/system-deps postgresql redis-server
	for b in benchmarks/bench_*.py; do $(VENV)/bin/python -m benchmarks.$$(basename $$b .py) || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
