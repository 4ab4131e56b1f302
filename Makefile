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

.PHONY: help run test bench bench-production soak insight-week setup envs database model browser-deps test-rasa test-services test-browser validate conversations eval eval-redaction eval-redaction-presidio clean

help:
	@echo "make run    set everything up, then start the assistant on http://localhost:8080"
	@echo "make test   set everything up, then run every test (both runtimes, Rasa checks)"
	@echo "make bench  load benchmark on loopback, ours and stock Rasa, paced levels and capacity; reports/bench/"
	@echo "make bench-production  the same on PostgreSQL, Redis, RabbitMQ (127.0.0.1), two Rasa workers and two action servers; reports/bench-production/"
	@echo "make soak   200 employees x 20 messages, embedded and production, with faults; reports/soak/"
	@echo "make insight-week  2,000 simulated conversations; insight numbers vs the raw events"
	@echo "make eval   NLU accuracy (held-out, CLINC dev, independent sets), entities, knowledge-base answers; reports/nlu/, reports/kb/"
	@echo "make eval-redaction   precision/recall of the redaction; reports/redaction/ (+ -presidio)"

envs: $(RASA_VENV)/.requirements.sha256 $(SVC_VENV)/.requirements.sha256

$(RASA_VENV)/.requirements.sha256: requirements/rasa.txt requirements/rasa-test.txt requirements/rasa-nodeps.txt
	@scripts/make-venv 3.10 $(RASA_VENV) requirements/rasa-test.txt requirements/rasa-nodeps.txt

$(SVC_VENV)/.requirements.sha256: requirements/services.txt requirements/services-test.txt \
		requirements/services-models.txt
	@scripts/make-venv 3.12 $(SVC_VENV) requirements/services-test.txt requirements/services-models.txt

database: envs
	@$(SVC_PY) -m bot.cli setup

model: envs
	@$(RASA_PY) scripts/train_if_stale.py > /dev/null

setup: envs database model

run: setup
	@$(SVC_PY) scripts/stack.py --dev-signin --logs var/logs

# Rasa's commands print pages of their libraries' deprecation notices (Sanic turns Python's
# filter for them back on): their output goes to a file under reports/, shown if they fail.
validate: envs
	@mkdir -p reports
	@echo "rasa data validate (output: reports/validate.log)"
	@$(RASA) data validate --domain domain --fail-on-warnings --quiet > reports/validate.log 2>&1 \
		|| { tail -n 40 reports/validate.log; exit 1; }

conversations: model
	@mkdir -p reports/conversations
	@echo "conversation tests: rasa test core --e2e (output: reports/conversations/rasa-test.log)"
	@$(RASA) test core --e2e --model "$$(cat models/current.txt)" --stories tests/conversations \
		--fail-on-prediction-errors --out reports/conversations --quiet \
		> reports/conversations/rasa-test.log 2>&1 \
		|| { tail -n 40 reports/conversations/rasa-test.log; exit 1; }
	@$(RASA_PY) -c 'import json, sys; a = json.load(open(sys.argv[1]))["conversation_accuracy"]; \
		print("  %d of %d conversations correct" % (a["correct"], a["total"]))' \
		reports/conversations/story_report.json

# Debian's Chromium (never a browser download) and axe-core from npm, for the browser tests.
browser-deps:
	test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }
	npm ci --prefix tests/browser --no-audit --no-fund --silent

test-rasa: envs
	$(RASA_PY) -m pytest tests/connectors tests/rasa_stores tests/nlu_components

test-services: setup
	$(SVC_PY) -m pytest tests/architecture tests/unit tests/nlu tests/privacy tests/persistence \
		tests/backoffice tests/actions tests/web tests/fuzz tests/deploy tests/system
	# the access battery, unchanged, on each vendor adapter (over HTTP to its local fake)
	TEST_BACKOFFICE=oracle $(SVC_PY) -m pytest -q tests/actions/test_access_battery.py
	TEST_BACKOFFICE=successfactors $(SVC_PY) -m pytest -q tests/actions/test_access_battery.py

test-browser: setup browser-deps
	$(SVC_PY) -m pytest tests/browser

test: setup validate conversations test-rasa test-services test-browser

bench: setup
	$(SVC_PY) -m benchmarks

# The production topology on this machine's PostgreSQL (5432, throwaway databases dropped
# afterwards), Redis (6379) and RabbitMQ (5672, a queue and exchange deleted afterwards).
bench-production: setup
	$(SVC_PY) -m benchmarks --production

# The soak and its faults (issue 27; docs/reliability.md): 200 employees x 20 messages on each
# mode, then each fault with the soak running (throwaway PostgreSQL, Redis and RabbitMQ);
# results in reports/soak/<mode>.json. tests/system/test_soak.py is the short version.
soak: setup
	nice -n 10 $(SVC_PY) -m benchmarks.soak --mode both --employees 200 --messages 20 --faults all

# A simulated week for service insight (issue 26): 2,000 conversations through the running stack,
# the consumer and Rasa stopped at different moments; its numbers in reports/insight-week.json.
insight-week: setup
	$(SVC_PY) -m benchmarks.insight_week --conversations 2000

eval: envs
	$(RASA_PY) scripts/evaluate_nlu.py
	$(SVC_PY) scripts/evaluate_kb.py

eval-redaction: envs
	$(SVC_PY) scripts/evaluate_redaction.py --json reports/redaction/results.json

# Presidio, for comparison only, in its own environment (it needs an older numpy).
eval-redaction-presidio:
	scripts/make-venv 3.12 .venv/presidio requirements/presidio-eval.txt requirements/services-models.txt
	.venv/presidio/bin/python scripts/evaluate_redaction.py --presidio \
		--json reports/redaction/presidio.json

clean:
	rm -rf .venv var reports models/*.tar.gz models/current.txt .rasa
