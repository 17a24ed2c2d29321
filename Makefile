# Two commands a newcomer needs: `make demo` and `make test`. Both go through `make venv`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: venv demo test lint system clean

venv: $(VENV)/.installed

system:
	bash scripts/install-system-deps.sh

$(VENV)/.installed: pyproject.toml scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# Bytecode, as a non-editable install has it: a process that may not write it
	# (PYTHONDONTWRITEBYTECODE) would compile every module at each start (~0.6 s of a hub's).
	$(BIN)/python -m compileall -q protocol edge hub simulators provision dashboards lookout watchpost_cli
	touch $@

demo: venv
	$(BIN)/watchpost demo $(DEMO_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check protocol edge hub simulators provision dashboards tests watchpost_cli
	$(BIN)/mypy
	$(BIN)/lint-imports

test: venv lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
