# The two commands in the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-publish bench-gateway bench-health install compile clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "MeshGate needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "python3 -m venv failed: install the venv module (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	@touch $(STAMP)

install: $(STAMP)

# The gateway's request path compiled with Cython (gateway_runtime/accel.py). pip builds it at
# install; this rebuilds what changed since. A stale build is never loaded: the gateway falls
# back to the .py sources and says so in its log and /status.
HOT_SOURCES := $(wildcard gateway_runtime/*.py gateway_runtime/*.pxd gateway_runtime/*/*.py gateway_runtime/*/*.pxd)
COMPILED    := $(VENV)/.compiled-stamp

$(COMPILED): $(STAMP) setup.py $(HOT_SOURCES)
	$(BIN)/python setup.py --quiet build_ext --inplace
	@touch $@

compile: $(COMPILED)

run: install compile
	$(BIN)/python -m portal.devstack

test: install compile
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Figures, not pass/fail: each prints what it measured (the README's Benchmarks section).
bench: bench-publish bench-gateway bench-health

bench-publish: install
	$(BIN)/python bench/publish_bench.py

bench-gateway: install compile
	$(BIN)/python bench/gateway_bench.py

bench-health: install
	$(BIN)/python bench/health_bench.py

clean:
	rm -rf $(VENV) var build *.egg-info
	find gateway_runtime \( -name "*.so" -o -name "*.c" \) -delete
