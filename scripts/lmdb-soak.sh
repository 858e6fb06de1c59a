#!/usr/bin/env bash
# Soak run of the LMDB crash test: starts ash-crash-child on one data folder,
# kills it with SIGKILL at a seeded random moment, reopens the folder and
# checks that every acknowledged put and consume survived, ROUNDS times for
# each durability (strict, relaxed).
#
# Usage: scripts/lmdb-soak.sh [ROUNDS] [SEED]
#   ROUNDS  kills per durability (default 200)
#   SEED    seed of the kill moments (default: random; printed, to repeat a run)
# Environment: ASH_PACKAGE_DIR  the package to test (default: this repository)
#              SWIFT_TEST_FLAGS extra flags for swift test, e.g. "-c release"
set -euo pipefail

rounds="${1:-200}"
seed="${2:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
cd "${ASH_PACKAGE_DIR:-$(dirname "$0")/..}"

echo "lmdb soak: ${rounds} rounds per durability, seed ${seed} (repeat with: $0 ${rounds} ${seed})"
# shellcheck disable=SC2086
swift build --build-tests ${SWIFT_TEST_FLAGS:-}
start=$(date +%s)
# shellcheck disable=SC2086
ASH_LMDB_CRASH_ROUNDS="${rounds}" ASH_LMDB_CRASH_SEED="${seed}" \
    swift test --skip-build ${SWIFT_TEST_FLAGS:-} --filter 'AshLMDBTests.CrashTests/killedWriter'
echo "lmdb soak: passed ${rounds} rounds per durability in $(( $(date +%s) - start )) s, seed ${seed}"
