# Two commands matter:  `make run`  and  `make test`.  Everything else is a step of those.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

RASA_VENV := .venv/rasa
SVC_VENV  := .venv/services
RASA_PY   := $(RASA_VENV)/bin/python
SVC_PY    := $(SVC_VENV)/bin/python
RASA      := $(RASA_VENV)/bin/rasa
export PYTHONPATH := $(CURDIR)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
export TQDM_DISABLE := 1

.PHONY: help run test bench setup envs database model browser-deps test-rasa test-services test-browser validate conversations eval clean

help:
	@echo "make run    set everything up, then start the assistant on http://localhost:8080"
	@echo "make test   set everything up, then run every test (both runtimes, Rasa checks)"
	@echo "make bench  load benchmark on loopback; results in reports/bench/"
	@echo "make eval   NLU accuracy on the held-out and CLINC dev sets; reports in reports/nlu/"

envs: $(RASA_VENV)/.requirements.sha256 $(SVC_VENV)/.requirements.sha256

$(RASA_VENV)/.requirements.sha256: requirements/rasa.txt requirements/rasa-test.txt
	scripts/make-venv 3.10 $(RASA_VENV) requirements/rasa-test.txt

$(SVC_VENV)/.requirements.sha256: requirements/services.txt requirements/services-test.txt
	scripts/make-venv 3.12 $(SVC_VENV) requirements/services-test.txt

database: envs
	$(SVC_PY) -m bot.cli setup

model: envs
	$(RASA_PY) scripts/train_if_stale.py

setup: envs database model

run: setup
	$(SVC_PY) scripts/stack.py --dev-signin

validate: envs
	$(RASA) data validate --domain domain --fail-on-warnings --quiet

conversations: model
	$(RASA) test core --e2e --model "$$(cat models/current.txt)" --stories tests/conversations \
		--fail-on-prediction-errors --out reports/conversations --quiet

# Debian's Chromium (never a browser download) and axe-core from npm, for the browser tests.
browser-deps:
	test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	npm ci --prefix tests/browser --no-audit --no-fund --silent

test-rasa: envs
	$(RASA_PY) -m pytest tests/connectors tests/rasa_stores

test-services: setup
	$(SVC_PY) -m pytest tests/unit tests/nlu tests/persistence tests/actions tests/web tests/deploy tests/system

test-browser: setup browser-deps
	$(SVC_PY) -m pytest tests/browser

test: setup validate conversations test-rasa test-services test-browser

bench: setup
	$(SVC_PY) -m benchmarks

eval: envs
	$(RASA_PY) scripts/evaluate_nlu.py

clean:
	rm -rf .venv var reports models/*.tar.gz models/current.txt .rasa
