# The two commands of the README: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit integration eval bench clean system-deps venv settings-docs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

system-deps:
	./scripts/system-deps.sh

demo: $(BIN)/.installed
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
