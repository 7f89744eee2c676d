# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where `make run` keeps its SQLite file and evidence; override to put it elsewhere.
WILDFLAG_DATA_DIR ?= $(CURDIR)/.data
export WILDFLAG_DATA_DIR

.PHONY: run test lint format install extension

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/wildflag serve

test: install lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The browser extension's store packages: dist/wildflag-chrome.zip, dist/wildflag-firefox.zip.
# WILDFLAG_API_URL, when set, becomes the extension's default backend.
extension:
	$(PYTHON) browser_extension/tools/package.py --out dist
