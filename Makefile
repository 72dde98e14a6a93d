# breakerpanel developer commands. Each target creates .venv on first use and
# installs what it needs; only Python 3.11+ and make are required.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: demo scenario test lint typecheck browser pytest docs bench clean

# -- virtual environment ------------------------------------------------------

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "breakerpanel needs Python 3.11 or newer; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# One stamp per set of extras; re-installed when pyproject.toml changes.
$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[all,dev]"
	@touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-dev
	$(PY) -m pip install --quiet -e ".[all,dev,bench]"
	@touch $@

$(VENV)/.installed-demo: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[demo]"
	@touch $@

# -- commands -------------------------------------------------------------------

# The upstream and the three shops under gunicorn/uvicorn until Ctrl-C (docs/demo.md).
# make demo STORAGE=redis://127.0.0.1:6379/0 shares breaker state; MODE=naive|bulkhead.
demo: $(VENV)/.installed-demo
	$(PY) -m example_apps.demo $(if $(STORAGE),--storage '$(STORAGE)') $(if $(MODE),--mode '$(MODE)')

# The cascade, measured (docs/scenario.md): tables, build/scenario/. QUICK=1: the short plan.
# Then a database outage (PostgreSQL through a fault proxy), when PostgreSQL is reachable.
scenario: $(VENV)/.installed-dev
	$(PY) -m example_apps.scenario $(if $(QUICK),--quick)
	$(PY) -m example_apps.scenario.database $(if $(QUICK),--quick)

# ruff, then the import contracts of pyproject.toml ([tool.importlinter]): the layers.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict --quiet

# Browser tests drive Debian's chromium. Install it where we can (root with apt);
# elsewhere those tests skip and say why (and fail when CI is set).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing chromium for the browser tests"; \
	      apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	      echo "could not install chromium: browser tests will be skipped"; \
	    else echo "chromium not found and not installable here: browser tests will be skipped"; fi; }

test: lint typecheck browser pytest docs

bench: $(VENV)/.installed-bench
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .pytest_cache .ruff_cache
