# The commands the README names. `make demo` runs the product, `make test` runs the checks.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The distribution's Python 3.11 when there is one: Debian builds it with profile-guided and
# link-time optimisation, which a pyenv or source build lacks by default (README, Tests, has
# what that costs the suite). Any other 3.11 works too. A failed attempt (a Debian Python
# without python3.11-venv) leaves a half-made .venv, which is removed before python3 is tried.
PYTHON ?= $(firstword $(wildcard /usr/bin/python3.11) python3.11)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
APPS := backoffice accounts offers orders shipping aftersales mirror jobs ui
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/backoffice)
TEST_REDIS_URL := $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
PYTEST_WORKERS ?= 2
# Extra pytest arguments, e.g. `make pytest PYTEST_ARGS=--record-schedule` (tests/plugins/schedule.py).
PYTEST_ARGS ?=
# Bytecode caching stays on even where the environment switches it off: the suite and the demo
# start dozens of Python processes (xdist workers, servers, Celery workers, the simulator), and
# each would compile the project's modules again from source (about 0.35 CPU-s per Django
# process, measured) and pytest rewrite every test module again. __pycache__ is git-ignored.
unexport PYTHONDONTWRITEBYTECODE
# Throwaway values so `check --deploy` can load the production settings.
DEPLOY_ENV := DJANGO_SETTINGS_MODULE=backoffice.settings.production \
	SECRET_KEY=check-deploy-only-$$(date +%s)-not-a-real-secret-key-0123456789abcdef \
	FIELD_ENCRYPTION_KEYS=mQ3rJ1j6Fw0l8Yc1zJ1x7m8cQf2mJxq4hK4b0w7e6ZQ= \
	ALLOWED_HOSTS=backoffice.example.com

# Creates the database named in DATABASE_URL when it does not exist yet.
define ENSURE_DB
import os, psycopg
from urllib.parse import urlsplit
url = urlsplit(os.environ["DATABASE_URL"])
name = url.path.lstrip("/")
admin = url._replace(path="/postgres").geturl()
with psycopg.connect(admin, autocommit=True) as conn:
    if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
        conn.execute(f'create database "{name}"')
endef
export ENSURE_DB

.PHONY: help venv demo test lint typecheck messages compile-messages services chromium checks pytest bench spec

help:
	@echo "make demo   - run the back-office at http://127.0.0.1:8000 (SQLite + embedded broker by default)"
	@echo "make test   - lint, type-check, deploy checks, migrations check and the test suite"
	@echo "make lint | make messages | make bench"

# --- virtualenv from pyproject.toml, reinstalled only when pyproject changes -----------------
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); python3 -m venv $(VENV); }
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# --- the product -----------------------------------------------------------------------------
demo: venv compile-messages
	$(PY) manage.py demo

# --- services for the tests ------------------------------------------------------------------
services:
	@if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
		if ! command -v pg_ctlcluster >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq postgresql; fi; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start || true; \
		for i in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done; \
	fi
	@pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL is not reachable on 127.0.0.1:5432"; exit 1; }
	@if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then \
		if ! command -v redis-server >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq redis-server; fi; \
		mkdir -p /var/lib/redis /var/log/redis; \
		redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
			--dir /var/lib/redis --logfile /var/log/redis/ci.log || true; \
		for i in $$(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done; \
	fi
	@redis-cli -h 127.0.0.1 ping >/dev/null || { echo "Redis is not reachable on 127.0.0.1:6379"; exit 1; }
	@DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -c "$$ENSURE_DB"

# Debian packages the tests use: gettext (msgfmt), poppler-utils (pdftotext/pdfinfo read the
# simulator's label and protocol PDFs) and Chromium for the browser tests: chromium-headless-shell
# runs most flows, the full chromium those that use its PDF viewer.
chromium:
	@if ! command -v msgfmt >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && apt-get install -y -qq gettext; fi
	@if ! command -v pdftotext >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq poppler-utils; \
		else echo "poppler-utils is missing: sudo apt-get install poppler-utils"; exit 1; fi; \
	fi
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromium-headless-shell ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && apt-get install -y -qq chromium chromium-headless-shell; \
		else echo "Debian's Chromium is missing: sudo apt-get install chromium chromium-headless-shell"; \
			exit 1; fi; \
	fi

# --- translations ----------------------------------------------------------------------------
messages: venv
	@for app in $(APPS); do \
		(cd $$app && ../$(PY) ../manage.py makemessages -l pl --no-obsolete >/dev/null) || exit 1; done
	$(PY) manage.py makemessages -l pl --no-obsolete --ignore='.venv/*' --ignore='var/*' \
		$(foreach app,$(APPS) allegro sandbox tests bench,--ignore='$(app)/*')
	$(MAKE) compile-messages

# The .mo files are committed too, so a machine without gettext still runs the product.
compile-messages: venv
	@if command -v msgfmt >/dev/null; then \
		$(PY) manage.py compilemessages --ignore='.venv/*' >/dev/null; \
	else echo "gettext (msgfmt) not installed: using the committed .mo files"; fi

# --- Allegro's OpenAPI spec (never committed): ALLEGRO_OPENAPI_PATH, else ../shared/allegro/,
# else Allegro's published spec downloaded into var/ with its sha256 (sandbox/spec.py) ---------
spec: venv
	@$(PY) -m sandbox spec

# --- checks ----------------------------------------------------------------------------------
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy backoffice accounts offers orders shipping aftersales mirror jobs ui allegro sandbox

checks: venv
	env $(DEPLOY_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(PY) manage.py makemigrations --check --dry-run

pytest: venv services chromium compile-messages spec
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

test: venv spec services chromium compile-messages lint typecheck checks pytest

bench: venv services
	@if ls bench/*.py >/dev/null 2>&1; then \
		for f in bench/*.py; do \
			case $$f in */__init__.py|*/conftest.py) continue;; esac; \
			echo "== $$f"; \
			DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) $$f || exit 1; \
		done; \
	else echo "no benchmarks in bench/"; fi
