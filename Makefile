# The two commands of the README: `make dev` (the connector locally) and `make test` (everything CI runs).
# Both set up what they need first; the setup steps are skipped when nothing they depend on changed.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.deps-installed
NODE_STAMP := node_modules/.deps-installed

.PHONY: setup dev test lint typecheck unit integration e2e infra-check property-long bench bench-scale clean local-settings \
	simulators browser teams-app

$(PY_STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (set PYTHON=/path/to/python3.11)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: $(PY_STAMP) $(NODE_STAMP)

## The connector locally: Azurite + the local Functions host on http://127.0.0.1:7071 (Ctrl-C stops all).
dev: setup
	$(PY) -m devstack

## For the Azure Functions Core Tools instead of the local host: local.settings.json (FORCE=1 replaces
## an existing one), then the Graph and contact-center simulators alone (Ctrl-C stops them).
local-settings: setup
	$(PY) -m devstack.local_settings $(if $(FORCE),--force)

simulators: setup
	$(PY) -m devstack --simulators-only

## Everything CI runs: lint, format check, type check, infrastructure checks, all test tiers (the console's
## browser tests included: Debian's Chromium, installed with apt-get when missing).
test: setup lint typecheck infra-check browser
	$(PY) -m pytest

browser:
	bash scripts/ensure-chromium.sh

## The Teams app package: teams-app/build/teams-app.zip with the deployment's URL and app id filled in
## (PUBLIC_BASE_URL=https://<app>.azurewebsites.net ENTRA_APP_CLIENT_ID=<app id> make teams-app).
teams-app: setup
	$(PY) -m devstack.teams_app --base-url "$(PUBLIC_BASE_URL)" --app-id "$(ENTRA_APP_CLIENT_ID)"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup
	$(PY) -m mypy

infra-check:
	bash scripts/check-infra.sh

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

e2e: setup browser
	$(PY) -m pytest tests/e2e

# Not in `make test`: the property tests with fresh random examples, 25 times as many. What it finds is
# kept in .hypothesis/ (replayed until fixed) and belongs in the test as an @example.
PROPERTY_TESTS = $(shell grep -rl --include='test_*.py' '^@given' tests)
property-long: setup
	HYPOTHESIS_PROFILE=randomized $(PY) -m pytest $(PROPERTY_TESTS)

# Figures, not pass/fail: notification intake over HTTP, then Teams -> contact center sync.
bench: setup
	$(PY) -m benchmarks.bench_notification_crypto
	$(PY) -m benchmarks.bench_notification_intake
	$(PY) -m benchmarks.bench_presence_sync
	$(PY) -m benchmarks.bench_directory
	$(PY) -m benchmarks.bench_webex_deliveries
	$(PY) -m benchmarks.bench_cold_start
	$(PY) -m benchmarks.bench_csv_import

bench-scale: setup
	$(PY) -m benchmarks.bench_scale_subscriptions
	$(PY) -m benchmarks.bench_scale_subscriptions --tenants 100 --agents 100 --accounts 1

clean:
	rm -rf $(VENV) .venv-checkov node_modules .azurite .mypy_cache .ruff_cache .pytest_cache teams-app/build \
		test-results
