# The two commands of the README:
#   make run   - set up everything, then start livekit-server + agent + web server
#   make test  - set up everything, then lint, type-check and run every test
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
WEB_STAMP := web-client/dist/.built
SYSTEM_STAMP := .cache/system-deps

.PHONY: run test setup check lint typecheck webcheck pytest bench clean

run: setup
	$(PY) -m roomscribe.cli dev

test: setup check

setup: $(VENV_STAMP) bin/livekit-server $(WEB_STAMP) $(SYSTEM_STAMP)

$(VENV_STAMP): pyproject.toml requirements.lock
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements.lock
	.venv/bin/pip install -q --no-deps -e .
	touch $@

bin/livekit-server: scripts/install-livekit.sh
	scripts/install-livekit.sh

$(WEB_STAMP): $(shell find web-client/src -type f 2>/dev/null) web-client/package.json web-client/package-lock.json
	cd web-client && npm ci --no-audit --no-fund && npm run build
	touch $@

$(SYSTEM_STAMP): scripts/install-system-deps.sh
	scripts/install-system-deps.sh
	mkdir -p .cache && touch $@

check: lint typecheck webcheck pytest

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck:
	$(PY) -m mypy

webcheck:
	cd web-client && npm run typecheck && npm test

pytest:
	$(PY) -m pytest

bench: $(VENV_STAMP)
	$(PY) -m roomscribe.cli bench ../shared/eval/allison-a.wav ../shared/eval/allison-b.wav

clean:
	rm -rf .venv bin web-client/node_modules web-client/dist .cache
