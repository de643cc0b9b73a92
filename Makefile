# One task runner: CI calls `make test` unchanged.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
CONTENT ?= var/content

.PHONY: serve test lint bench clean lock

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@echo "Installing pinned dependencies into $(VENV) ..."
	@$(BIN)/pip install -q --disable-pip-version-check -r requirements.lock
	@$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $(STAMP)

serve: $(STAMP)
	@test -e $(CONTENT) || $(BIN)/kb init $(CONTENT)
	@$(BIN)/kb serve --repo $(CONTENT) --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check kbserver approval tests bench
	$(BIN)/ruff format --check kbserver approval tests bench
	$(BIN)/mypy
	$(BIN)/kb lint .

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Regenerate requirements.lock from the direct dependencies in pyproject.toml.
lock:
	rm -rf .lockenv && $(PY) -m venv .lockenv
	.lockenv/bin/pip install -q -e '.[dev]'
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^kbserver' > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf $(VENV) var site .mypy_cache .pytest_cache .ruff_cache
