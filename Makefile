# Atlas Settlement — the commands a newcomer needs. Everything is installed into .venv
# from requirements.lock (exact pins).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: install run test fuzz lint format bench bench-smoke loadtest demo-workbook clean

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

install: $(VENV)/.installed

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py create_demo_users
	$(PY) manage.py import_workbook fixtures/demo.xlsx --user ops
	@echo "Serving on http://127.0.0.1:$(PORT)/ (sign in at /accounts/login/); background worker started."
	$(PY) manage.py db_worker & WORKER=$$!; trap "kill $$WORKER 2>/dev/null" EXIT INT TERM; \
		$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

fuzz: install  ## the property and fuzz tests with new random examples each run (`make test` repeats fixed ones)
	HYPOTHESIS_PROFILE=explore $(VENV)/bin/pytest $$(grep -rl --include='test_*.py' '@given' tests)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install  ## S (100 clients) and L (2,000 clients): prints PASS/FAIL, writes bench/results.json; DATABASE_URL=postgres://… for PostgreSQL
	$(PY) -m bench.run

bench-smoke: install  ## the benchmark harness on a tiny workbook (also run by the test suite)
	$(PY) -m bench.run --smoke --dir $${TMPDIR:-/tmp}/atlas-bench-smoke

loadtest: install  ## 20 signed-in users for 60 s against gunicorn (2 workers) + PostgreSQL on loopback; not part of `make test`
	$(PY) -m loadtest.run --users 20 --seconds 60 $(LOADTEST_ARGS)

demo-workbook: install
	$(PY) manage.py make_demo_workbook fixtures/demo.xlsx --clients 40 --seed 7

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles artifacts
