# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint check-format format bench clean-data

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --editable .
	@touch $(STAMP)

## make run: the portal on 127.0.0.1:8000 and the local identity provider on 127.0.0.1:8080
run: $(STAMP)
	$(PY) scripts/dev_run.py

## make test: lint (ruff, mypy) and the whole pytest suite
# The MFA domain and the gate are held at 100% branch coverage.
COVERAGE := --cov=aidial_portal.mfa --cov=aidial_portal.web.gate --cov=aidial_portal.web.access \
	--cov-branch --cov-fail-under=100 --cov-report=term-missing:skip-covered

test: $(STAMP) lint
	$(PY) -m pytest $(COVERAGE)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy aidial_portal local_idp scripts benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make bench: figures, not pass/fail (see docs/performance.md)
bench: $(STAMP)
	$(PY) -m benchmarks

clean-data:
	rm -rf var
