# The two commands a fresh machine needs (see README.md):
#   make run   installs what is missing, builds in release mode, starts ashd
#   make test  installs what is missing, starts throwaway Redis and PostgreSQL
#              servers on loopback, runs the whole test suite, stops them
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := pkg-config liblmdb-dev liblmdb0 redis-server postgresql chromium python3-venv
DATA_DIR ?= ./ash-data

.PHONY: run test deps build lint format bench bench-micro bench-http conformance fuzz clean demo

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

build: deps
	$(SWIFT) build -c release

run: build
	@scripts/run-main.sh "$(DATA_DIR)"

# The HTTP tests' outside client (PyPI's ash-sdk) lives in a virtual
# environment here; the browser test runs Debian's chromium.
SDK_VENV := .build-venv/ash-sdk

# Debug info as line tables only: backtraces keep their files and lines, and
# the debug build of every dependency is cheaper to compile and link. The index
# store stays: on Linux, `swift test` finds the XCTest cases by reading it
# (with --disable-index-store it stops at "index store path does not exist").
TEST_DEBUG_INFO := -Xswiftc -gline-tables-only -Xcc -gline-tables-only

test: deps lint
	@scripts/ash-sdk-venv.sh $(SDK_VENV)
	@ASH_SDK_PYTHON="$(CURDIR)/$(SDK_VENV)/bin/python" ASH_CHROMIUM="$$(command -v chromium)" \
		scripts/with-test-servers.sh $(SWIFT) test --no-parallel $(TEST_DEBUG_INFO)

# The code follows .swift-format; `make format` rewrites it to.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Benchmarks Package.swift

conformance: deps
	$(SWIFT) run -c release ash conformance Tests/AshConformanceTests/Resources/ash-v1-public-vectors.json

# The engine, ashd, Redis and PostgreSQL side by side (ash-bench), one core each
# (servers on CPU 0, ash-bench on CPU 1; BENCH_PINNED=no shares all cores): starts
# the servers on loopback, writes bench-results/results.{json,svg}, prints the table.
bench: deps
	@scripts/bench.sh

# The example application (Sources/AshDemo): http://127.0.0.1:8080/, on the
# store ASH_STORE names (default: the embedded engine on LMDB in ./ash-demo-data).
demo: deps
	$(SWIFT) run -c release ash-demo

# Protected requests per second through the Hummingbird middleware on each
# store, against the same route unprotected (wrk; scripts/bench-http.sh).
bench-http: deps
	@scripts/ash-sdk-venv.sh $(SDK_VENV)
	@ASH_SDK_PYTHON="$(CURDIR)/$(SDK_VENV)/bin/python" scripts/bench-http.sh

# package-benchmark micro-suites (Benchmarks/), in a build folder of their own.
bench-micro: deps
	ASH_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-bench benchmark

# Coverage-guided fuzzing (libFuzzer; scripts/fuzz.sh, Sources/AshFuzzing):
# builds the targets in .build-fuzz and runs each for FUZZ_SECONDS, FUZZ_JOBS
# at a time. One target: make fuzz FUZZ_TARGETS=FuzzResp FUZZ_SECONDS=60
FUZZ_SECONDS ?= 600
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?=
fuzz: deps
	FUZZ_TARGETS="$(FUZZ_TARGETS)" FUZZ_SECONDS="$(FUZZ_SECONDS)" FUZZ_JOBS="$(FUZZ_JOBS)" scripts/fuzz.sh

clean:
	rm -rf .build .build-* Benchmarks/.build
