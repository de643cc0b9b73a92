# One task runner: CI calls `make test` unchanged.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip --disable-pip-version-check
WHEELS := $(VENV)/wheels
RUNTIME := $(VENV)/.runtime-installed
DEV := $(VENV)/.dev-installed
HOST ?= 127.0.0.1
PORT ?= 8000
CONTENT ?= var/content

.PHONY: serve test lint bench audit clean lock

$(BIN)/python:
	$(PY) -m venv $(VENV)

# The runtime lock only, every file checked against its hash; then the project itself (editable). The files
# are kept in $(WHEELS): the wheel test installs the runtime lock again from there, with no network.
$(RUNTIME): pyproject.toml requirements/runtime.txt | $(BIN)/python
	@echo "Installing the runtime packages (hashes checked) into $(VENV) ..."
	@$(PIP) download -q --require-hashes -d $(WHEELS) -r requirements/runtime.txt
	@$(PIP) install -q --no-index --find-links $(WHEELS) --require-hashes -r requirements/runtime.txt
	@$(PIP) install -q --no-deps --no-build-isolation -e .
	@touch $@

# The development lock: the runtime packages at the same versions, plus the test and lint tools.
$(DEV): $(RUNTIME) requirements/dev.txt
	@echo "Installing the development packages (hashes checked) into $(VENV) ..."
	@$(PIP) download -q --require-hashes -d $(WHEELS) -r requirements/dev.txt
	@$(PIP) install -q --no-index --find-links $(WHEELS) --require-hashes -r requirements/dev.txt
	@touch $@

serve: $(RUNTIME)
	@test -e $(CONTENT) || $(BIN)/kb init $(CONTENT)
	@$(BIN)/kb serve --repo $(CONTENT) --host $(HOST) --port $(PORT)

lint: $(DEV)
	$(BIN)/ruff check kbserver approval tests bench
	$(BIN)/ruff format --check kbserver approval tests bench
	$(BIN)/mypy
	$(BIN)/kb lint kbserver/starter

# One test process by default: a few tests measure time (constant-time logins, a free event loop), and a second
# process sharing 2 cores made them flaky. `make test PYTEST_ARGS="-n 2 --dist loadfile"` runs two (pytest-xdist,
# whole files each), about 40% faster, for local work.
PYTEST_ARGS ?=
test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(DEV)
	@for b in bench/*_bench.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Known vulnerabilities in the runtime lock, from PyPI's advisory data. It needs the network; a package it could
# not check (no network, or no record of that release) fails the target with that said: never a silent pass.
audit: $(DEV)
	@status=0; $(BIN)/pip-audit --strict --disable-pip --require-hashes --progress-spinner off \
	  -r requirements/runtime.txt >$(VENV)/audit.log 2>&1 || status=$$?; cat $(VENV)/audit.log; \
	if [ $$status -ne 0 ] && grep -qiE 'could not be audited|ConnectionError|Failed to resolve|timed out' $(VENV)/audit.log; then \
	  echo "make audit: FAILED: the advisory data could not be fetched for the packages named above" \
	    "(no network, or no record of that release): they are not known to be safe" >&2; \
	elif [ $$status -ne 0 ]; then echo "make audit: FAILED: see the findings above" >&2; fi; exit $$status

# Regenerate the hashed locks from pyproject.toml with pip-tools: requirements/runtime.txt (with the build
# backend that `pip install -e .` needs), then requirements/dev.txt held to the runtime versions. Pins already
# in the files are kept; `make lock UPGRADE=1` moves every package to its newest release.
PIP_TOOLS := pip-tools==7.6.2
COMPILE = CUSTOM_COMPILE_COMMAND="make lock" .lockenv/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras --all-build-deps \
	--no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade)
lock:
	rm -rf .lockenv && $(PY) -m venv .lockenv
	.lockenv/bin/pip install -q --disable-pip-version-check $(PIP_TOOLS)
	$(COMPILE) -o requirements/runtime.txt pyproject.toml
	$(COMPILE) --extra dev -c requirements/runtime.txt -o requirements/dev.txt pyproject.toml
	rm -rf .lockenv

clean:
	rm -rf $(VENV) var site build .mypy_cache .pytest_cache .ruff_cache
