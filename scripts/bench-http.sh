#!/usr/bin/env bash
# `make bench-http`: protected requests per second through the Hummingbird
# middleware on each store, against the same route unprotected, in one run.
#
# Builds ash-demo and ashd (release), starts Redis, PostgreSQL (the test
# cluster: fsync off) and ashd on loopback, and for each target starts
# ash-demo on it, issues BENCH_CONTEXTS contexts through POST /ash/context
# with their proofs precomputed by the reference Python client
# (scripts/bench-http/issue_contexts.py), then drives POST /api/transfer with
# wrk (scripts/bench-http/protected.lua: every request a fresh context and
# a valid proof, so every accepted request is a real verify-and-consume).
# `unprotected` is ash-demo --unprotected, the same route with no middleware.
#
# One core each: ash-demo and the store's server on CPU 0 (taskset), wrk on
# CPU 1. Server CPU per request is read from /proc (utime + stime) of
# ash-demo and of the store's server processes.
#
# Environment: BENCH_DURATION [5] seconds, BENCH_CONNECTIONS [16],
# BENCH_CONTEXTS [120000], BENCH_TARGETS [unprotected memory engine engine-lmdb ashd redis postgres],
# ASH_SDK_PYTHON (the ash-sdk venv's python; `make bench-http` makes it).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
package_dir=$(cd "$here/.." && pwd)
duration=${BENCH_DURATION:-5}
connections=${BENCH_CONNECTIONS:-16}
contexts=${BENCH_CONTEXTS:-120000}
targets=${BENCH_TARGETS:-unprotected memory engine engine-lmdb ashd redis postgres}
python=${ASH_SDK_PYTHON:?set ASH_SDK_PYTHON to a python with ash-sdk (make bench-http does)}
log() { printf 'bench-http.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
. "$here/bench-lib.sh"

"$here/install-deps.sh" pkg-config liblmdb-dev liblmdb0 redis-server postgresql wrk
log "building ash-demo and ashd (release)"
(cd "$package_dir" && swift build -c release --product ash-demo >&2 && swift build -c release --product ashd >&2)
bin=$(cd "$package_dir" && swift build -c release --show-bin-path)

work=$(mktemp -d -t ash-bench-http.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ -f "$work/redis/redis.pid" ] && kill "$(cat "$work/redis/redis.pid")" 2>/dev/null || true
    [ -d "$work/postgres" ] && "$here/test-servers/postgres.sh" stop "$work/postgres" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# CPU ticks (utime + stime) of the given pids and all their threads.
cpu_ticks() {
    local total=0 pid user system
    for pid in "$@"; do
        read -r user system <<<"$(cpu_ticks_split "$pid")"
        total=$((total + user + system))
    done
    echo "$total"
}
ticks_per_second=$(getconf CLK_TCK)

# The stores' servers, all on CPU 0.
mkdir -p "$work/redis"
redis_port=$(free_port)
taskset -c 0 redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work/redis" --daemonize yes \
    --pidfile "$work/redis/redis.pid" --logfile "$work/redis/redis.log" --save "" --appendonly no >&2
wait_for_port "$redis_port" redis
mkdir -p "$work/postgres"
eval "$("$here/test-servers/postgres.sh" start "$work/postgres")"
postgres_url=$ASH_TEST_POSTGRES_URL
postmaster=$(head -n 1 "$work/postgres/data/postmaster.pid")
taskset -a -c -p 0 "$postmaster" >/dev/null
for pid in $(pgrep -P "$postmaster"); do taskset -a -c -p 0 "$pid" >/dev/null; done
ashd_port=$(free_port)
taskset -c 0 "$bin/ashd" --host 127.0.0.1 --port "$ashd_port" --threads 1 --durability none --log-level warning \
    >"$work/ashd.log" 2>&1 &
ashd_pid=$!
pids+=("$ashd_pid")
wait_for_port "$ashd_port" ashd

printf '| target | requests/s | vs unprotected | added per request | ash-demo CPU/request | store server CPU/request | non-2xx |\n'
printf '|---|---|---|---|---|---|---|\n'
baseline=""
for target in $targets; do
    store="engine:" flags=() backend=()
    case $target in
        unprotected) flags=(--unprotected) ;;
        memory) store="memory:" ;;
        engine) store="engine:" ;;
        engine-lmdb) store="engine:$work/lmdb" ;;
        ashd) store="ash://127.0.0.1:$ashd_port"; backend=("$ashd_pid") ;;
        redis) store="redis://127.0.0.1:$redis_port"; backend=("$(cat "$work/redis/redis.pid")") ;;
        postgres) store="$postgres_url" ;;
        *) die "unknown target $target" ;;
    esac
    port=$(free_port)
    ASH_STORE="$store" ASH_DEFAULT_TTL_MS=600000 ASH_RATE_LIMIT_MAX=0 \
        taskset -c 0 "$bin/ash-demo" --host 127.0.0.1 --port "$port" "${flags[@]}" >"$work/demo-$target.log" 2>&1 &
    demo_pid=$!
    pids+=("$demo_pid")
    wait_for_port "$port" "ash-demo ($target)"
    "$python" "$here/bench-http/issue_contexts.py" "http://127.0.0.1:$port" "$contexts" "$work/proofs-$target.txt" \
        2>"$work/issue-$target.log" || die "issuing contexts failed; see $work/issue-$target.log"
    [ "$target" = postgres ] && backend=($(pgrep -P "$postmaster"))
    before_demo=$(cpu_ticks "$demo_pid")
    before_backend=$(cpu_ticks "${backend[@]}")
    output=$(ASH_PROOFS="$work/proofs-$target.txt" ASH_THREADS=1 taskset -c 1 \
        wrk -t1 -c"$connections" -d"${duration}s" -s "$here/bench-http/protected.lua" "http://127.0.0.1:$port")
    after_demo=$(cpu_ticks "$demo_pid")
    [ "$target" = postgres ] && backend=($(pgrep -P "$postmaster"))
    after_backend=$(cpu_ticks "${backend[@]}")
    kill -TERM "$demo_pid"; wait "$demo_pid" 2>/dev/null || true
    echo "$output" >"$work/wrk-$target.txt"
    grep -q "ran out of contexts" <<<"$output" && log "$target: ran out of contexts; raise BENCH_CONTEXTS"
    rate=$(awk '/^Requests\/sec/ {print $2}' <<<"$output")
    answered=$(awk '/^ASH responses 2xx/ {gsub(",", "", $4); print $4 + $6}' <<<"$output")
    non2xx=$(awk '/^ASH responses 2xx/ {print $6}' <<<"$output")
    [ "$target" = unprotected ] && non2xx=0 && baseline=$rate
    python3 - "$target" "$rate" "${baseline:-0}" "$answered" "$((after_demo - before_demo))" \
        "$((after_backend - before_backend))" "$ticks_per_second" "$non2xx" <<'PY'
import sys
target, rate, baseline, answered, demo, backend, hz, non2xx = sys.argv[1:]
rate, baseline, answered = float(rate), float(baseline), max(1, int(answered))
per = lambda ticks: f"{int(ticks) / int(hz) / answered * 1e6:.1f} µs"
ratio = f"{rate / baseline:.2f}×" if baseline and target != "unprotected" else "1.00×"
added = f"{(1 / rate - 1 / baseline) * 1e6:.1f} µs" if baseline and target != "unprotected" else "—"
print(f"| {target} | {rate:,.0f} | {ratio} | {added} | {per(demo)} | {per(backend) if int(backend) else '—'} | {non2xx} |")
PY
done
