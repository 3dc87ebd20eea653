# raregal: `make demo` installs and runs the demo; `make test` installs and runs the tests
# (`make test-fast` skips the slow and browser ones).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.raregal-installed
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export MPLBACKEND ?= Agg

.PHONY: install demo test test-fast lint bench bench-quick browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch and torchvision as a matching pair (see README: installation)
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[all]'
	touch $(STAMP)

install: $(STAMP)

browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(VENV)/bin/raregal demo --out runs/demo

lint: install
	$(PY) -m ruff check src tests benchmarks

test: install browser lint
	$(PY) -m pytest -q --durations=15

# everything but the tests marked slow or browser (under 3 minutes on 2 cores)
test-fast: install lint
	$(PY) -m pytest -q -m "not slow and not browser"

bench: install
	$(PY) -m raregal.bench --out benchmarks/results

bench-quick: install
	$(PY) -m raregal.bench --quick --out benchmarks/results/quick

clean:
	rm -rf $(VENV) .numba_cache .pytest_cache .ruff_cache
