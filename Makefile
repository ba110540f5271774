# The two commands of the README:
#   make run   - set up everything, then start livekit-server + agent + web server
#   make test  - set up everything, then lint, type-check and run every test
#                (except the long `soak` ones)
#   make soak  - the long runs (marker `soak`): a 30-minute soak with 4 talkers (base) and a
#                1-minute one (tiny.en),
#                50 churn cycles over 4 rooms, heal time over 5 worker kills; results
#                in artifacts/ (soak-30min.json, livekit-churn-50.json, livekit-heal-soak.json)
#   make bench-listener - latency from two talkers to the captions at a LiveKit listener, stage
#                by stage (roomscribe.bench.listener): builds bin/lktalk (Go talkers that send
#                Ogg Opus files as they are), starts livekit-server --dev and the agent (base, en)
#                with timing marks, ~3.5 minutes; report also in artifacts/bench-listener.json
SHELL := /bin/bash
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
WEB_STAMP := web-client/dist/.built
EXAMPLE_DIR := web-client/examples/components-react
EXAMPLE_STAMP := $(EXAMPLE_DIR)/dist/.built
SYSTEM_STAMP := .cache/system-deps
UV := .venv/bin/uv

.PHONY: run test soak setup check lint typecheck webcheck pytest bench bench-listener lock clean

run: setup
	$(PY) -m roomscribe.cli dev

# The components-react example is only needed by the tests, so `make run` never builds it.
test: setup $(EXAMPLE_STAMP) check

setup: $(VENV_STAMP) bin/livekit-server $(WEB_STAMP) $(SYSTEM_STAMP)

# requirements-dev.lock (runtime + bench + dev tools) and requirements.lock (runtime
# only, what the Docker image installs) pin every package with its SHA-256.
# uv installs the locked set in ~20 s where pip takes ~65 s. --compile-bytecode as pip
# does: compiled at import instead, a dependency's invalid escape sequence would be a
# SyntaxWarning, which pytest's filterwarnings=error turns into an error.
$(VENV_STAMP): pyproject.toml requirements.lock requirements-dev.lock
	python3 -m venv .venv
	.venv/bin/pip install -q uv==0.13.9
	$(UV) pip install -q --python .venv/bin/python --compile-bytecode --require-hashes -r requirements-dev.lock
	$(UV) pip install -q --python .venv/bin/python --no-deps -e .
	touch $@

bin/livekit-server: scripts/install-livekit.sh
	scripts/install-livekit.sh

$(WEB_STAMP): $(shell find web-client/src -type f 2>/dev/null) web-client/package.json web-client/package-lock.json
	cd web-client && npm ci --no-audit --no-fund && npm run build
	touch $@

$(EXAMPLE_STAMP): $(shell find $(EXAMPLE_DIR)/src -type f 2>/dev/null) $(EXAMPLE_DIR)/build.mjs $(EXAMPLE_DIR)/package.json $(EXAMPLE_DIR)/package-lock.json
	cd $(EXAMPLE_DIR) && npm ci --no-audit --no-fund && npm run build
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

# One process: on two cores, three pytest-xdist workers (`-n 3 -m "not serial"`, then
# the `serial` tests alone) took 17 min on a fresh clone but loaded the machine past the browser,
# embedded and churn tests' bounds (docs/development.md).
pytest:
	$(PY) -m pytest --durations=25

# pyproject's addopts deselect `soak`; an explicit -m replaces that selection.
soak: setup
	$(PY) -m pytest -m soak -v -s

# Every recording (allison-a/b, the Asterisk sessions, the conversational set) is built
# from the Debian packs into artifacts/eval; nothing outside the checkout is needed.
bench: $(VENV_STAMP) $(SYSTEM_STAMP)
	$(PY) -m roomscribe.bench.asterisk artifacts/eval
	$(PY) -m roomscribe.cli bench --offline --revisions off \
	  artifacts/eval/conversation-g711.wav artifacts/eval/asterisk-en.wav \
	  artifacts/eval/allison-a.wav artifacts/eval/allison-b.wav

bin/lktalk: scripts/install-lktalk.sh $(wildcard tools/lktalk/*)
	scripts/install-lktalk.sh

bench-listener: $(VENV_STAMP) $(SYSTEM_STAMP) bin/livekit-server bin/lktalk
	$(PY) -m roomscribe.bench.allison artifacts/eval
	$(PY) -m roomscribe.bench.listener --start --json artifacts/bench-listener.json \
	  artifacts/eval/allison-a.wav artifacts/eval/allison-b.wav

# Re-pin after changing dependencies in pyproject.toml: versions already pinned stay
# (delete a line to upgrade that package), new ones are resolved, hashes for all.
lock:
	[ -x $(UV) ] || .venv/bin/pip install -q uv==0.13.9
	mkdir -p .cache
	cp requirements-dev.lock .cache/pins.txt 2>/dev/null || cp requirements.lock .cache/pins.txt
	$(UV) pip compile pyproject.toml -c .cache/pins.txt --generate-hashes --python-version 3.11 \
	  --custom-compile-command "make lock" -o requirements.lock
	$(UV) pip compile pyproject.toml --extra dev --extra bench -c .cache/pins.txt --generate-hashes \
	  --python-version 3.11 --custom-compile-command "make lock" -o requirements-dev.lock
	sed -i '/#   -c .cache\/pins.txt/d' requirements.lock requirements-dev.lock

clean:
	rm -rf .venv bin web-client/node_modules web-client/dist $(EXAMPLE_DIR)/node_modules $(EXAMPLE_DIR)/dist .cache
