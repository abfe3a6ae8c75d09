# edge-gru: `make demo` and `make test` each set up .venv from scratch when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo-out
# pytest workers (pytest-xdist; one test file per worker at a time, so module fixtures are built once)
JOBS ?= 2

.PHONY: install demo test test-fast bench fuzz lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "edge-gru needs Python >= 3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/edge-gru demo -o $(DEMO_OUT) --force

test: $(STAMP)
	$(PY) -m pytest -q -n $(JOBS) --dist loadfile

# the edit-test loop: everything but the end-to-end cases marked slow (tests/conftest.py), under 3 minutes here
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" -n $(JOBS) --dist loadfile

bench: $(STAMP)
	$(PY) benchmarks/run.py

fuzz: $(STAMP)
	$(PY) -m fuzz --cases $(or $(CASES),2000) --jobs 2 --json fuzz-report.json

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache .hypothesis
