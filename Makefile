# EquipShare. On a fresh machine (Debian, python3 = Python 3.11) two commands are enough:
#
#   make run    set up, migrate, load demo data, serve http://127.0.0.1:5000 (SQLite)
#   make test   set up and run the tests (SQLite; again on PostgreSQL when TEST_DATABASE_URL is set)
#
# Everything else here is a building block of those two. `make help` lists the targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful `pip install -e '.[dev]'`; re-installs only when pyproject.toml changes.
STAMP := $(VENV)/.equipshare-installed
FLASK := $(BIN)/flask --app wsgi
PYTEST := $(BIN)/python -m pytest
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 5000
CHROMIUM := /usr/bin/chromium
RESULTS := test-results
TRANSLATIONS := equipshare/translations
LANGUAGES := zh en

.DEFAULT_GOAL := help
.PHONY: help install setup compile-translations translations db categories demo run test test-sqlite \
        lint clean bench

help:
	@echo "make run           set up, migrate, load demo data and serve http://$(HOST):$(PORT)"
	@echo "make test          set up and run the tests (SQLite, then PostgreSQL if TEST_DATABASE_URL is set)"
	@echo "make test-sqlite   only the SQLite run (PYTEST_ARGS='-k name' to narrow it)"
	@echo "make demo          migrate and (re)load the demo data without serving"
	@echo "make translations  extract messages, update/init the zh and en catalogues, compile"
	@echo "make lint          ruff"
	@echo "make bench         booking benchmarks (REPLACES the BENCH_DATABASE_URL database; see docs/benchmarks.md)"
	@echo "make clean         remove test results and caches (keeps .venv and the database)"

# --- Environment ------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo ">>> Installing EquipShare and its dependencies into $(VENV) (pip install -e '.[dev]')"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -q -e '.[dev]'
	@touch $@

install: $(STAMP)

# Compiles the catalogues if there are any (.mo files are build products, not in git).
compile-translations: | $(STAMP)
	@if compgen -G "$(TRANSLATIONS)/*/LC_MESSAGES/*.po" > /dev/null; then \
	  $(BIN)/pybabel compile -d $(TRANSLATIONS); \
	fi

setup: install compile-translations

# extract → update (or init, the first time) zh and en → compile
translations: install
	@mkdir -p $(TRANSLATIONS)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
	  --add-comments=Translators: --no-location --sort-output --project=EquipShare \
	  -o $(TRANSLATIONS)/messages.pot .
	@for lang in $(LANGUAGES); do \
	  if [ -f $(TRANSLATIONS)/$$lang/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $$lang || exit 1; \
	  else \
	    $(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $$lang || exit 1; \
	  fi; \
	done
	$(BIN)/pybabel compile -d $(TRANSLATIONS)

# --- Database and demo data --------------------------------------------------------------------

db: setup
	@mkdir -p instance/uploads
	$(FLASK) db upgrade

categories: db
	$(FLASK) seed-categories

demo: categories
	$(FLASK) demo-data

run: demo
	@echo ">>> EquipShare: http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	@# The scheduler (sends the queued mails, reminders, expiry…) runs in the background, one
	@# process for the whole site, and stops with the web server. With no MAIL_SERVER set, mails
	@# are written to its log instead of being sent.
	@$(FLASK) scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT; \
	$(FLASK) run --host $(HOST) --port $(PORT)

# --- Tests ---------------------------------------------------------------------------------------

# Browser tests (tests/e2e) run whenever $(CHROMIUM) exists; otherwise they are skipped, and
# with EQUIPSHARE_REQUIRE_BROWSER=1 (CI) they fail instead. Each run writes a JUnit file to
# $(RESULTS)/ (.ci/run checks that the PostgreSQL run really ran tests). The exit status is
# non-zero if either run failed.
test: setup
	@mkdir -p $(RESULTS) && rm -f $(RESULTS)/junit-*.xml
	@if [ -x $(CHROMIUM) ]; then \
	  echo ">>> Browser tests: ON (Chromium at $(CHROMIUM))"; \
	elif [ "$${EQUIPSHARE_REQUIRE_BROWSER:-}" = 1 ]; then \
	  echo ">>> Browser tests: REQUIRED, but $(CHROMIUM) is missing: they will FAIL"; \
	else \
	  echo ">>> Browser tests: SKIPPED ($(CHROMIUM) not found; apt-get install chromium)"; \
	fi
	@status=0; \
	echo ">>> Test run on SQLite"; \
	env -u TEST_DATABASE_URL -u EQUIPSHARE_REQUIRE_POSTGRES \
	  $(PYTEST) -q -ra --junitxml=$(RESULTS)/junit-sqlite.xml $(PYTEST_ARGS) || status=1; \
	if [ -n "$${TEST_DATABASE_URL:-}" ]; then \
	  echo ">>> Test run on PostgreSQL (TEST_DATABASE_URL)"; \
	  $(PYTEST) -q -ra --junitxml=$(RESULTS)/junit-postgresql.xml $(PYTEST_ARGS) || status=1; \
	else \
	  echo ">>> PostgreSQL run: not run (set TEST_DATABASE_URL=postgresql://... to run it)"; \
	fi; \
	exit $$status

test-sqlite: setup
	env -u TEST_DATABASE_URL -u EQUIPSHARE_REQUIRE_POSTGRES $(PYTEST) -q -ra $(PYTEST_ARGS)

# --- Benchmarks (on demand, never part of the tests) --------------------------------------------

# BENCH_DATABASE_URL is emptied and filled with bench data: give it a database of its own, e.g.
# postgresql://postgres@127.0.0.1:5432/es_bench. Needs wrk (apt-get install -y wrk).
BENCH_ARGS ?= --bookings 10000 --bookings 1000000
bench: setup
	@test -n "$${BENCH_DATABASE_URL:-}" || { echo "set BENCH_DATABASE_URL (a database the benchmark may replace)"; exit 2; }
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 2; }
	$(BIN)/python bench/bookings.py $(BENCH_ARGS) --json bench/results/latest.json

# --- Housekeeping --------------------------------------------------------------------------------

lint: setup
	$(BIN)/ruff check equipshare tests

clean:
	rm -rf $(RESULTS) .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
