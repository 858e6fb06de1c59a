# The two commands a fresh machine needs (see README.md):
#   make run   installs what is missing, builds in release mode, starts ashd
#   make test  installs what is missing, starts throwaway Redis and PostgreSQL
#              servers on loopback, runs the whole test suite, stops them
SHELL := /bin/bash
SWIFT ?= swift
APT_PACKAGES := pkg-config liblmdb-dev liblmdb0 redis-server postgresql
DATA_DIR ?= ./ash-data

.PHONY: run test deps build lint format bench bench-micro conformance fuzz clean

deps:
	@scripts/install-deps.sh $(APT_PACKAGES)

build: deps
	$(SWIFT) build -c release

run: build
	@scripts/run-main.sh "$(DATA_DIR)"

test: deps lint
	@scripts/with-test-servers.sh $(SWIFT) test --no-parallel

# The code follows .swift-format; `make format` rewrites it to.
lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Benchmarks Package.swift

conformance: deps
	$(SWIFT) run -c release ash conformance Tests/AshConformanceTests/Resources/ash-v1-public-vectors.json

# The engine, ashd, Redis and PostgreSQL side by side (ash-bench): starts the
# servers on loopback, writes bench-results/results.{json,svg}, prints the table.
bench: deps
	@scripts/bench.sh

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
