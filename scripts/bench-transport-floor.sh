#!/usr/bin/env bash
# What SwiftNIO's channel pipeline costs ashd per request (issue 18): ashd
# --durability none, ash-transport-floor (the same session state machine, codec,
# on-loop engine path and metrics on a bare epoll loop; Benchmarks/Transport) and
# redis-server without persistence, one core each: the servers on CPU 0, ash-bench
# on CPU 1 with one client thread. create+consume, 50 connections.
#
# For each server it prints ash-bench's line and the server's user and system CPU
# per pair, read from /proc over 3 s in the middle of the run (every thread).
#
# Environment: DEPTH [1]  ROUNDS [3]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
die() { echo "bench-transport-floor.sh: $*" >&2; exit 1; }

DEPTH=${DEPTH:-1}
ROUNDS=${ROUNDS:-3}
command -v redis-server >/dev/null || die "redis-server is missing (make deps)"
# ash-transport-floor is declared only with ASH_BENCHMARKS set: build all three so.
export ASH_BENCHMARKS=1
for product in ashd ash-bench ash-transport-floor; do
    swift build -c release --product "$product" >/dev/null || die "cannot build $product"
done
bin=$(swift build -c release --show-bin-path)

work=$(mktemp -d -t ash-transport-floor.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

redis_port=$(free_port)
ashd_port=$(free_port)
floor_port=$(free_port)
taskset -c 0 redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$work" --daemonize yes \
    --pidfile "$work/redis.pid" --logfile "$work/redis.log" --save '' --appendonly no
taskset -c 0 "$bin/ashd" --host 127.0.0.1 --port "$ashd_port" --durability none --threads 1 \
    --log-level warning >"$work/ashd.log" 2>&1 &
pids+=($!)
ashd_pid=$!
taskset -c 0 "$bin/ash-transport-floor" "$floor_port" >"$work/floor.log" 2>&1 &
pids+=($!)
floor_pid=$!
wait_for_port "$redis_port" redis-server
wait_for_port "$ashd_port" ashd
wait_for_port "$floor_port" ash-transport-floor
redis_pid=$(cat "$work/redis.pid")

for round in $(seq 1 "$ROUNDS"); do
    echo "round $round, depth $DEPTH"
    for target in "ashd ash://127.0.0.1:$ashd_port $ashd_pid" \
        "floor ash://127.0.0.1:$floor_port $floor_pid" \
        "redis redis://127.0.0.1:$redis_port $redis_pid"; do
        read -r name url pid <<<"$target"
        taskset -c 1 "$bin/ash-bench" --client-threads 1 --no-fairness --memory-contexts 0 --connections 50 \
            --workload create+consume --duration 7s --depth "$DEPTH" --target "$name=$url" --pid "$name=$pid" \
            >"$work/$name.out" 2>&1 &
        bench=$!
        sleep 2.5
        read -r user0 system0 <<<"$(cpu_ticks_split "$pid")"
        start=$(date +%s.%N)
        sleep 3
        read -r user1 system1 <<<"$(cpu_ticks_split "$pid")"
        end=$(date +%s.%N)
        wait "$bench" || die "ash-bench failed against $name: $(tail -3 "$work/$name.out")"
        # ash-bench's table row: target, workload, depth, ops/s, pairs/s, ...
        pairs=$(awk -v name="$name" '$1 == name && $3 ~ /^[0-9]+$/ {print $5; exit}' "$work/$name.out")
        [ -n "$pairs" ] || die "no result from ash-bench against $name"
        awk -v name="$name" -v pairs="$pairs" -v hz="$(getconf CLK_TCK)" \
            -v u="$((user1 - user0))" -v s="$((system1 - system0))" -v seconds="$(echo "$end - $start" | bc)" '
            function count(v) { m = 1; if (v ~ /k$/) m = 1e3; if (v ~ /M$/) m = 1e6; sub(/[kM]$/, "", v); return v * m }
            BEGIN {
                n = count(pairs) * seconds
                printf "  %-6s %s pairs/s   user %.1f µs/pair   system %.1f µs/pair   total %.1f µs/pair\n",
                    name, pairs, u / hz / n * 1e6, s / hz / n * 1e6, (u + s) / hz / n * 1e6
            }'
    done
done
