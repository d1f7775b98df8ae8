# safesim: one-word entry points. Builds use at most two jobs (shared 2-core machines).
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
JOBS := 2
export CMAKE_BUILD_PARALLEL_LEVEL := $(JOBS)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Everything that goes into the installed package; a change reinstalls it.
PACKAGE_INPUTS := pyproject.toml CMakeLists.txt $(shell find python sim scenarios -type f \
  -not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)
CPP_FILES = $(shell find sim python tests/cpp tests/bench tests/fuzz -name '*.cpp' -o -name '*.hpp' 2>/dev/null)

.PHONY: help deps system-deps demo test docs test-cpp test-asan test-tsan test-fuzz test-python format lint clean

help:
	@echo "make demo    install everything, then compare the baseline with teen-account defaults"
	@echo "make test    lint, C++ tests (debug, ASan+UBSan, TSan), Python tests, 130 s of fuzzing"
	@echo "make docs    the documentation site in build/docs/ (warnings are errors; runs the notebooks)"
	@echo "make deps    system packages, .venv and the safesim package"
	@echo "make format  clang-format and ruff format in place"
	@echo "make lint    ruff and clang-format checks"

deps: system-deps $(VENV)/.installed

system-deps:
	scripts/install-system-deps

$(VPY):
	$(PYTHON) -m venv $(VENV)

# The build dir persists (build/python), so reinstalling after a change is incremental.
$(VENV)/.installed: $(VPY) $(PACKAGE_INPUTS)
	$(VPY) -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12"
	$(VPY) -m pip install -q --no-build-isolation \
	  --config-settings=build-dir=build/python ".[test]"
	touch $@

# Paired effects print to the terminal; tables and figures go to out/demo/.
demo: deps
	$(VENV)/bin/safesim compare scenarios/baseline.yaml --policy-arm industry_teen_accounts \
	  --reps 20 --out out/demo

# Lint first: it is the quickest to fail.
test: deps lint test-cpp test-asan test-tsan test-python docs test-fuzz

test-cpp:
	cmake --preset debug
	cmake --build --preset debug
	ctest --preset debug

test-asan:
	cmake --preset asan
	cmake --build --preset asan
	ctest --preset asan

# ThreadSanitizer over the whole C++ suite (run_many's worker threads).
test-tsan:
	cmake --preset tsan
	cmake --build --preset tsan
	ctest --preset tsan

# Short libFuzzer runs (clang): scenario loading, the engine, the edge-list reader; then the Python readers.
# Findings become regression inputs.
test-fuzz:
	scripts/fuzz 50
	SAFESIM_FUZZ_TARGET=fuzz_engine scripts/fuzz 30
	SAFESIM_FUZZ_TARGET=fuzz_edge_list scripts/fuzz 20
	PYTHON=$(VPY) scripts/fuzz python 30

test-python: deps
	$(VPY) -m pytest

# The site (docs/conf.py): generated references, the model pages, the notebooks executed at the
# test suite's small scale. -W: a broken link, missing reference or failing notebook is an error.
# DOCS_PYTHON lets a developer build with another environment that has the package importable.
DOCS_PYTHON ?= $(VPY)
docs: $(if $(filter $(VPY),$(DOCS_PYTHON)),deps)
	$(DOCS_PYTHON) -m sphinx -b html -W --keep-going -q -j 1 docs build/docs
	@echo "docs: build/docs/index.html"

# Pinned: a new ruff release may add checks, and CI must not fail on what did not change.
RUFF_VERSION := 0.17.6
$(VENV)/bin/ruff: $(VPY)
	$(VPY) -m pip install -q "ruff==$(RUFF_VERSION)"

format: $(VENV)/bin/ruff
	clang-format -i $(CPP_FILES)
	$(VPY) -m ruff format python tests/python
	$(VPY) -m ruff check --fix python tests/python

lint: $(VENV)/bin/ruff
	$(VPY) -m ruff check python tests/python
	$(VPY) -m ruff format --check python tests/python
	clang-format --dry-run --Werror $(CPP_FILES)

clean:
	rm -rf build $(VENV)
