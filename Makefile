# The two commands of the README: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit integration eval bench clean system-deps venv settings-docs

# Two stamps in one venv: `make demo` installs only what mailwatch needs to run (.runtime);
# `make test` and the other developer targets add the dev tools on top (.installed).
$(BIN)/.runtime: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -e .
	touch $@

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/.runtime $@

venv: $(BIN)/.installed

system-deps:
	./scripts/system-deps.sh

demo: $(BIN)/.runtime
	$(BIN)/mailwatch demo

test: $(BIN)/.installed system-deps lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check mailwatch tests bench migrations
	$(BIN)/ruff format --check mailwatch tests bench migrations

typecheck: $(BIN)/.installed
	$(BIN)/mypy mailwatch/core

unit: $(BIN)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(BIN)/.installed system-deps
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

eval: $(BIN)/.installed
	$(BIN)/python -m mailwatch.evaluation tests/data/eval

bench: $(BIN)/.installed system-deps
	$(BIN)/python bench/backfill.py --messages 20000 --rounds 3

settings-docs: $(BIN)/.installed
	$(BIN)/python -m mailwatch.settings_docs --write

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
