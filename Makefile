# The two commands of the README: `make demo` and `make test`. Each sets itself up.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint typecheck unit integration eval bench clean system-deps venv settings-docs i18n i18n-compile

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
	$(BIN)/pybabel -q compile -d mailwatch/locale || true
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
	$(BIN)/lint-imports --no-cache

# mypy on all of mailwatch: strict packages clean, the rest within mypy-baseline.txt
# (lower it after a fix: $(BIN)/python scripts/mypy_baseline.py --update).
typecheck: $(BIN)/.installed
	$(BIN)/python scripts/mypy_baseline.py

unit: $(BIN)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(BIN)/.installed system-deps
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

eval: $(BIN)/.installed
	$(BIN)/python -m mailwatch.evaluation tests/data/eval

bench: $(BIN)/.installed system-deps
	$(BIN)/python bench/backfill.py --messages 20000 --rounds 3

# The interface's catalogs: extract every marked string (Python and templates), merge the new
# ones into each language's .po (translate those, then run it again), compile the .mo files.
# A missing .mo is not an error: mailwatch compiles a .po in memory at first use.
LOCALES := mailwatch/locale
UI_LANGS := ru ro es

i18n: $(BIN)/.installed
	mkdir -p $(LOCALES)
	$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header \
		-k N_ -k N_plural:1,2 -c TRANSLATORS: -o $(LOCALES)/messages.pot mailwatch
	for lang in $(UI_LANGS); do \
		$(BIN)/pybabel -q update -i $(LOCALES)/messages.pot -d $(LOCALES) -l $$lang \
			--no-wrap --ignore-obsolete --init-missing --no-fuzzy-matching || exit 1; \
	done
	# the header's creation time changes on every run and would make every run a diff
	sed -i '/^"POT-Creation-Date: /d' $(LOCALES)/*/LC_MESSAGES/messages.po
	$(MAKE) --no-print-directory i18n-compile

i18n-compile: $(BIN)/.installed
	$(BIN)/pybabel -q compile -d $(LOCALES) --statistics

settings-docs: $(BIN)/.installed
	$(BIN)/python -m mailwatch.settings_docs --write

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
