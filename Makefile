# Two commands on a fresh machine: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SCENARIO ?= scenarios/quickstart.yaml

.PHONY: demo test lint bench lab clean emulation-deps mutation mutation-screen

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/twin run $(SCENARIO) --out runs/$(notdir $(basename $(SCENARIO)))

lint: $(STAMP)
	$(VENV)/bin/ruff check twin tests
	$(VENV)/bin/mypy twin

test: lint
	$(VENV)/bin/pytest -n 2 --dist loadgroup --nbmake tests notebooks

bench: $(STAMP)
	$(PY) -m tests.benchmarks.run

# Mutation testing of the twin's logic (mutmut, one worker; hours, not part of `make test`):
# a table of killed / survived / timed-out mutants per module. MODULES=twin/bss/sla.py … runs
# only those; results are kept in mutants/ (ignored by git).
mutation: $(STAMP)
	$(PY) -m tests.mutation_report run $(MODULES)

# The fast pass (minutes a module): every mutant `make mutation` generated, against the
# module's unit tests only, in one process; its kill rate is a lower bound of mutmut's.
mutation-screen: $(STAMP)
	$(PY) -m tests.mutation_report screen $(MODULES)

lab: $(STAMP)
	$(PY) -m pip install -q -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks

# System packages of the emulated wire (`twin run --emulate`): Debian/Ubuntu, as root.
emulation-deps:
	.ci/install-emulation

clean:
	rm -rf $(VENV) runs mutants .pytest_cache .mypy_cache .ruff_cache
