# trialsite: `make run` serves the EDC with demo data; `make test` runs the whole test suite.
# Both create the virtualenv and install the pinned requirements when they are missing.
# `make run DEMO=false` serves without seeding the demo study and its logins (DEMO=true is the
# default here only; production never seeds, see docker-compose.yml).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
DEMO ?= true
PIP_FLAGS ?= --quiet --disable-pip-version-check

.PHONY: run test lint format worker beat migrate seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime-installed: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

migrate: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: migrate $(if $(filter true,$(DEMO)),seed)
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(VENV)/.runtime-installed
	$(BIN)/celery -A trialsite worker --loglevel INFO --queues trialsite

beat: $(VENV)/.runtime-installed
	$(BIN)/celery -A trialsite beat --loglevel INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var/trialsite.sqlite3 .pytest_cache test-results
