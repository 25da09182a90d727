# The two commands a fresh clone needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint check-format format bench clean-data lock

# Two hashed lock files: requirements.txt is what production installs (the portal's runtime
# dependencies only); requirements-dev.txt adds the test and lint tools, held to the same pins.
# The portal and the local provider (its own distribution, local_idp/pyproject.toml) are
# installed in editable mode; the portal's wheel does not contain the provider.
# The venv keeps the interpreter's own pip (no upgrade): what a newcomer's machine has is what CI
# tests. scripts/check_toolchain.py names the Python or pip to use when this one can't install.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml local_idp/pyproject.toml
	@test -x $(PY) || { $(PYTHON) scripts/check_toolchain.py && $(PYTHON) -m venv $(VENV); }
	@$(PY) scripts/check_toolchain.py
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes \
		-r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps \
		--editable . --editable ./local_idp
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
	$(VENV)/bin/lint-imports

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## make bench: figures, not pass/fail (see docs/performance.md)
bench: $(STAMP)
	$(PY) -m benchmarks

clean-data:
	rm -rf var

## make lock: re-resolve both lock files after editing pyproject.toml or requirements-dev.in.
# Existing pins are kept unless a requirement needs another version (pip-compile --upgrade-package).
# Extras are kept (`coverage[toml]==...`): a lock without them leaves pip to pick the extra's
# package by itself, and the newest upload then fails --require-hashes (tests/test_lock_files.py).
# pip-tools lives in a venv of its own, so it never changes what the locks installed in .venv.
LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.7.0
PIP_COMPILE := $(LOCK_VENV)/bin/pip-compile --quiet --allow-unsafe --generate-hashes \
	--no-strip-extras --no-emit-index-url --no-emit-find-links
lock:
	@test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(PIP_TOOLS)
	$(PIP_COMPILE) --output-file=requirements.txt pyproject.toml
	$(PIP_COMPILE) --output-file=requirements-dev.txt requirements-dev.in local_idp/pyproject.toml
