# `make test` bootstraps from nothing (Python 3.11+, Node 20, make) and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SLITHER_VENV := .venv-slither
HALMOS_VENV := .venv-halmos
PEERS := build/peers
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# Foundry's platform binaries, never the npm wrappers in node_modules/.bin: those always exit 0.
FORGE := scripts/foundry forge

.PHONY: install build artifacts demo test test-contracts lint lint-python lint-solidity test-forge test-halmos test-slither test-artifacts test-python test-browser fuzz bench soak clean

# What the demo and `make test` need; halmos's venv (make test-halmos) and the gas peers (make bench)
# install with the targets that use them. `make -j3 install` installs the two venvs and npm side by
# side (`make test` does so); the dashboard's bundle waits for npm.
install: $(VENV)/.installed $(SLITHER_VENV)/.installed node_modules/.installed build/web/app.js

# uv, pinned, installs the locked packages into each venv: 15 s for the project's where pip took 75 s.
# It reads PyPI, or UV_INDEX_URL where set (it does not read pip's configuration).
UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv
UV_INSTALL = $(UV) pip install --quiet --compile-bytecode --python

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) requirements.lock requirements-nodeps.lock pyproject.toml
	$(UV_INSTALL) $(VENV) -r requirements.lock
	$(UV_INSTALL) $(VENV) --no-deps -r requirements-nodeps.lock
	$(UV_INSTALL) $(VENV) --no-deps --no-build-isolation -e .
	touch $@

# Slither pins an older web3 than the project, so it lives in its own venv.
$(SLITHER_VENV)/.installed: $(UV) requirements-slither.lock
	$(PYTHON) -m venv $(SLITHER_VENV)
	$(UV_INSTALL) $(SLITHER_VENV) -r requirements-slither.lock
	touch $@

# halmos (symbolic proofs, make test-halmos) pins its own solver bindings, so it has its own venv too.
$(HALMOS_VENV)/.installed: $(UV) requirements-halmos.lock
	$(PYTHON) -m venv $(HALMOS_VENV)
	$(UV_INSTALL) $(HALMOS_VENV) -r requirements-halmos.lock
	touch $@

# Not `npm ci`: the registry lacks @foundry-rs/anvil-darwin-amd64, an optional dependency, so the
# lock cannot list it and `npm ci` refuses; `npm install` still installs exactly the locked versions.
node_modules/.installed: package.json package-lock.json
	npm install --no-audit --no-fund
	touch $@

# Gas peers whose compiled artifacts the benchmarks deploy (scripts/bench_peers.py): the npm registry's
# tarballs, checked against the integrity in bench/npm-tarballs.lock and unpacked into build/peers/NAME.
$(PEERS)/.installed: bench/npm-tarballs.lock
	rm -rf $(PEERS) && mkdir -p $(PEERS)
	grep -v '^#' $< | while read -r spec integrity; do \
		name="$${spec%@*}"; \
		file="$$(cd $(PEERS) && npm pack --silent "$$spec")" || exit 1; \
		actual="sha512-$$(openssl dgst -sha512 -binary "$(PEERS)/$$file" | base64 -w0)"; \
		[ "$$actual" = "$$integrity" ] || { echo "$$spec: integrity $$actual, expected $$integrity" >&2; exit 1; }; \
		mkdir -p "$(PEERS)/$$name" && tar -xzf "$(PEERS)/$$file" -C "$(PEERS)/$$name" --strip-components=1; \
	done
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

# Service tests spend much of their time waiting on processes (anvil, API, nodes, Chromium): more
# workers than cores keep both cores busy.
PYTEST_WORKERS ?= 4

# Install (side by side), lint (the quickest no), then the contracts' checks beside the Python tests:
# the compilers run on one core each, so the two halves share the machine instead of taking turns.
test:
	$(MAKE) --no-print-directory -j3 install
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory -j2 test-contracts test-python

test-contracts: test-forge test-halmos test-slither test-artifacts

# Lint, format and types: ruff and mypy on the Python tree (mypy's files in pyproject.toml), forge fmt on the contracts.
lint: lint-python lint-solidity

lint-python: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

lint-solidity: node_modules/.installed
	$(FORGE) fmt --check

# On the legacy pipeline without the optimizer (foundry.toml, [profile.quick]): the deployed bytecode
# (via-IR, optimized) is what the Python suite runs; `make fuzz` runs these tests on it.
test-forge: node_modules/.installed
	FOUNDRY_PROFILE=quick $(FORGE) test

# The long campaign: every invariant at 10,000 runs of 100 calls, every fuzz test at 50,000 runs
# (foundry.toml, [profile.fuzz]); `make test` runs the short one.
fuzz: node_modules/.installed
	FOUNDRY_PROFILE=fuzz $(FORGE) test

# Symbolic proofs of the payout formula (contracts/solidity/test/halmos; bounds and settings in
# docs/contracts.md, "Proofs"). halmos runs `forge build` from PATH: the platform binary's folder
# goes first (the npm wrapper hides failures); its own profile builds only the proofs into build/halmos.
HALMOS_FORGE_DIR = $(dir $(firstword $(wildcard $(CURDIR)/node_modules/@foundry-rs/forge-*/bin/forge)))
# `make test` proves the lemmas the payout formula's properties are composed from; the properties
# stated over the whole formula, a few of whose solver queries do not finish yet, run with
# HALMOS_PROOFS=PayoutMathHalmos.
HALMOS_PROOFS ?= PayoutMathLemmas
test-halmos: $(HALMOS_VENV)/.installed node_modules/.installed
	$(HALMOS_VENV)/bin/python scripts/halmos_z3_integers_check.py
	PATH="$(HALMOS_FORGE_DIR):$$PATH" FOUNDRY_PROFILE=halmos $(HALMOS_VENV)/bin/halmos \
		--match-contract '^$(HALMOS_PROOFS)$$' $(HALMOS_FLAGS)

# Fails on any high or medium finding not justified by a slither-disable comment at the line.
# Slither reads its own build (sources without tests, with build info) in build/slither: left to
# compile by itself it runs `forge clean`, and the next `forge test` recompiles everything. Slither reads
# the syntax tree, which the code generator does not change: that build skips via-IR and the optimizer
# (5 s of CPU instead of 3 minutes).
test-slither: install
	rm -rf build/slither build/slither-cache
	FOUNDRY_OUT=build/slither FOUNDRY_CACHE_PATH=build/slither-cache FOUNDRY_VIA_IR=false FOUNDRY_OPTIMIZER=false \
		$(FORGE) build --build-info --deny never --skip './contracts/solidity/test/**'
	$(SLITHER_VENV)/bin/slither . --foundry-ignore-compile --foundry-out-directory build/slither \
		--filter-paths "node_modules|contracts/solidity/test" \
		--exclude-informational --exclude-low --exclude-optimization --fail-medium

test-artifacts: install
	$(PY) scripts/compile.py --check

# In parallel (pytest-xdist; each worker has its own PostgreSQL schemas, anvils and ports), then alone
# what restarts the shared PostgreSQL (the soak). `pytest -m "not slow"`: the fast loop.
test-python: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) --durations=15 -m "not serial"
	$(PY) -m pytest -m serial

# The dashboard in Debian's Chromium (skipped with a message where it is absent, except under CI).
test-browser: install
	$(PY) -m pytest -m browser

bench: install $(PEERS)/.installed
	$(PY) scripts/bench_gas.py
	$(PY) scripts/bench_oracle.py
	$(PY) scripts/bench_api.py
	$(PY) scripts/bench_chain.py
	$(PY) scripts/bench_oracle_network.py
	$(PY) scripts/bench_auditor.py
	$(PY) scripts/bench_design.py
	$(PY) scripts/bench_peers.py
	$(PY) scripts/bench_report.py

# Soak and faults (scripts/soak.py): SOAK_SECONDS of lifecycles under injected faults, then every invariant.
SOAK_SECONDS ?= 120
soak: install
	$(PY) scripts/soak.py --seconds $(SOAK_SECONDS)

clean:
	rm -rf build crytic-export .pytest_cache .hypothesis
