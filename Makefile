# `make test` bootstraps from nothing (Python 3.11+, Node 20, make) and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SLITHER_VENV := .venv-slither
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# Foundry's platform binaries, never the npm wrappers in node_modules/.bin: those always exit 0.
FORGE := scripts/foundry forge

.PHONY: install build artifacts demo test lint test-forge test-slither test-artifacts test-python test-browser bench soak clean

install: $(VENV)/.installed $(SLITHER_VENV)/.installed node_modules/.installed build/web/app.js

$(VENV)/.installed: requirements.lock requirements-nodeps.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-nodeps.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# Slither pins an older web3 than the project, so it lives in its own venv.
$(SLITHER_VENV)/.installed: requirements-slither.lock
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-slither.lock
	touch $@

# Not `npm ci`: the registry lacks @foundry-rs/anvil-darwin-amd64, an optional dependency, so the
# lock cannot list it and `npm ci` refuses; `npm install` still installs exactly the locked versions.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

# The web dashboard: bundled from npm packages at install time, served by the backend at /app.
build/web/app.js: node_modules/.installed $(wildcard web/src/*.js web/src/pages/*.js) web/index.html web/app.css
	mkdir -p build/web
	esbuild web/src/main.js --bundle --minify --format=esm --target=es2020 --log-level=warning --outfile=build/web/app.js
	cp web/index.html web/app.css build/web/

build: install
	$(FORGE) build

artifacts: install
	$(PY) scripts/compile.py

# The end-to-end demo needs only the Python side: the embedded chain runs in its process.
demo: $(VENV)/.installed
	$(VENV)/bin/attestpay demo

test: install lint test-forge test-slither test-artifacts test-python

# Lint and format: ruff on the Python tree, forge fmt on the contracts.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(FORGE) fmt --check

test-forge: node_modules/.installed
	$(FORGE) test

# Fails on any high or medium finding not justified by a slither-disable comment at the line.
# Slither reads its own build (sources without tests, with build info) in build/slither: left to
# compile by itself it runs `forge clean`, and the next `forge test` recompiles everything (~2.5 min).
test-slither: install
	rm -rf build/slither build/slither-cache
	FOUNDRY_OUT=build/slither FOUNDRY_CACHE_PATH=build/slither-cache \
		$(FORGE) build --build-info --deny never --skip './contracts/solidity/test/**'
	$(SLITHER_VENV)/bin/slither . --foundry-ignore-compile --foundry-out-directory build/slither \
		--filter-paths "node_modules|contracts/solidity/test" \
		--exclude-informational --exclude-low --exclude-optimization --fail-medium

test-artifacts: install
	$(PY) scripts/compile.py --check

test-python: install
	$(PY) -m pytest

# The dashboard in Debian's Chromium (skipped with a message where it is absent, except under CI).
test-browser: install
	$(PY) -m pytest -m browser

bench: install
	$(PY) scripts/bench_gas.py
	$(PY) scripts/bench_oracle.py
	$(PY) scripts/bench_api.py
	$(PY) scripts/bench_chain.py
	$(PY) scripts/bench_oracle_network.py
	$(PY) scripts/bench_auditor.py
	$(PY) scripts/bench_peers.py
	$(PY) scripts/bench_report.py

# Soak and faults (scripts/soak.py): SOAK_SECONDS of lifecycles under injected faults, then every invariant.
SOAK_SECONDS ?= 120
soak: install
	$(PY) scripts/soak.py --seconds $(SOAK_SECONDS)

clean:
	rm -rf build crytic-export .pytest_cache .hypothesis
