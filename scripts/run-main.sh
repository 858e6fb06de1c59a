#!/usr/bin/env bash
# The main job of `make run`: the release build's command-line client checks
# this implementation against the bundled ASH v1 test vectors.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(swift build -c release --show-bin-path)
"$bin/ash" --help
exec "$bin/ash" conformance Tests/AshConformanceTests/Resources/ash-v1-public-vectors.json
