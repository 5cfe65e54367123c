# Tether: `make demo` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help demo test lint format typecheck pytest chromium bench clean install install-spark

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv==0.13.8
	$(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## create .venv with the pinned dependencies

# The optional Spark engine (tether[spark]) for its tests; after the stamp, whose sync
# would remove it. pyspark installs from a source archive (about 1-3 min, 490 MB).
SPARK_STAMP := $(VENV)/.installed-spark
$(SPARK_STAMP): $(STAMP) requirements-spark.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-spark.lock
	touch $(SPARK_STAMP)

install-spark: $(SPARK_STAMP) ## add the Spark engine (pyspark, pinned) to .venv

demo: $(STAMP) ## generate the demo world, link it, print where the results are
	$(BIN)/tether demo --home tether-data

lint: $(STAMP) ## ruff check + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP) ## ruff format + autofix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP) $(SPARK_STAMP) ## mypy (strict)
	$(BIN)/mypy resolver consent audiences api tests bench

# Two workers (pytest-xdist) on the 2-core machine CI runs on. --dist loadscope keeps each
# module on one worker, so a module's expensive fixtures (the Spark session, the notebooks'
# workspace) are built once, not once per worker.
TEST_WORKERS ?= 2
pytest: $(STAMP) $(SPARK_STAMP) chromium ## the test suite (all markers, Spark's included)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadscope --durations=15

chromium: ## Debian's chromium, for the report test (installed when run as root with apt)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else echo "install Debian's chromium (apt-get install chromium) for the report test" >&2; fi; }

test: lint typecheck pytest ## everything CI runs

bench: $(STAMP) ## the benchmarks of bench/ (slow; results go to bench/RESULTS.md by hand)
	$(BIN)/python bench/bench_link.py --touchpoints 100000

clean: ## remove the venv and generated data
	rm -rf $(VENV) tether-data .mypy_cache .ruff_cache .pytest_cache
