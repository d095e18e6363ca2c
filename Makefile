# bdprocess: two commands on a fresh machine.
#   make run    bootstrap .venv (Python >= 3.12) and reproduce the paper's Gaussian-mixture result
#   make test   bootstrap .venv and run the test suite (CI runs this)
# Further targets: test-all (includes slow tests), docs, bench, bench-jump, lint.
#   bench-jump  jump events/s against rebop and GillesPy2, Extrande vs Splitting (ARGS=--quick)

VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
PYTEST  := $(BIN)/python -m pytest
export JAX_COMPILATION_CACHE_DIR ?= $(HOME)/.cache/bdprocess/jax

.PHONY: run test test-all docs bench bench-jump lint clean

$(STAMP): pyproject.toml
	@PY=$$(.ci/find-python) || exit 1; \
	if [ ! -x $(BIN)/python ]; then echo "creating $(VENV) with $$PY"; "$$PY" -m venv $(VENV) || exit 1; fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,docs]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/bdprocess reproduce $(ARGS)

test: $(STAMP)
	$(PYTEST) -m "not slow" -n 2 $(ARGS)

test-all: $(STAMP)
	$(PYTEST) -n 2 $(ARGS)

docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python bench/bench_splitting.py $(ARGS)

# rebop and GillesPy2 are benchmark-only extras, never runtime dependencies.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[bench]'
	@touch $(BENCH_STAMP)

bench-jump: $(BENCH_STAMP)
	$(BIN)/python bench/bench_jump.py $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check bdprocess models analysis tests bench
	$(BIN)/ruff format --check bdprocess models analysis tests bench

clean:
	rm -rf $(VENV) docs/_build
