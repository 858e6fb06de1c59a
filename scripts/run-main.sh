#!/usr/bin/env bash
# The main job of `make run`: ashd on 127.0.0.1:7379 with its embedded LMDB
# (durability relaxed), data in $1 (default ./ash-data). Stop it with Ctrl-C
# (SIGINT): it drains in-flight requests, commits and exits 0.
# Every ashd option can be set by environment (ASHD_PORT, ASHD_DURABILITY, …).
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir=${1:-./ash-data}
bin=$(swift build -c release --show-bin-path)
exec "$bin/ashd" --data-dir "$data_dir"
