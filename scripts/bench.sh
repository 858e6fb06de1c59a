#!/usr/bin/env bash
# `make bench`: the engine, ashd, Redis and PostgreSQL side by side, in one run.
#
# Builds ash-bench and ashd in release mode, starts on loopback, in a temporary
# folder and on free ports:
#   redis            redis-server, no persistence (the baseline of every ratio)
#   redis-always     redis-server, appendonly yes, appendfsync always
#   redis-everysec   redis-server, appendonly yes, appendfsync everysec
#   redis-cluster    a Redis Cluster, three primaries with a replica each
#                    (scripts/test-servers/redis-cluster.sh), no persistence
#   postgres         PostgreSQL via scripts/test-servers/postgres.sh (as the postgres
#                    user when root; that cluster runs with fsync=off)
#   ashd             ashd --durability none
#   ashd-relaxed     ashd --durability relaxed
#   ashd-strict      ashd --durability strict
# plus the embedded engine in the ash-bench process (`engine`), runs the standard
# suite, writes bench-results/results.json and bench-results/results.svg, prints
# the table, and stops everything on exit.
#
# One core each (the headline, on a machine with 2 or more CPUs): every server
# runs on CPU 0 (`taskset -c 0`; ashd with one event loop, `--threads 1`) and
# ash-bench on CPU 1 with one client thread, so no server competes with the load
# generator or another server for a core, and the table's "srv µs/unit" (server
# CPU per pair) is each server's own cost per request. With BENCH_PINNED=no
# everything shares every core instead (ashd with a loop per core, ash-bench with
# a client thread per core): the all-cores comparison, which hides per-request
# cost (Docs/BENCHMARKS.md says why). The engine runs inside ash-bench in both.
#
# Next to the redis-benchmark fairness check, ash-bench compares the PostgreSQL
# store with `pgbench -M prepared` running the store's own INSERT and consume
# statements on the same database and table, with the same connections and threads,
# at each depth (depth > 1: pgbench pipelines of that many statements), as a ratio
# (`pgbench` in the JSON; Docs/BENCHMARKS.md).
#
# The durable targets run create+consume only and are paired with their Redis
# (ashd-strict / redis-always, ashd-relaxed / redis-everysec).
#
# Environment (defaults in brackets):
#   BENCH_DURATION [3s]  BENCH_WARMUP [1s]  BENCH_DEPTHS [1,16]  BENCH_CONNECTIONS [50]
#   BENCH_KEYSPACE [50000]  BENCH_MEMORY_CONTEXTS [50000]  BENCH_OUT [bench-results]
#   BENCH_TTL_MS [3600000]  TTL of the contexts the run creates: longer than the run,
#                  so that no server expires an earlier part's contexts on the shared
#                  server core while another server is measured (Docs/BENCHMARKS.md)
#   BENCH_ARGS     extra ash-bench arguments
#   BENCH_PINNED [yes with 2+ CPUs]  BENCH_SERVER_CPU [0]  BENCH_CLIENT_CPU [1]
#   ASH_PACKAGE_DIR the package to build (default: this repository)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
package_dir=$(cd "${ASH_PACKAGE_DIR:-$here/..}" && pwd)
out=${BENCH_OUT:-bench-results}
log() { printf 'bench.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
. "$here/bench-lib.sh"

"$here/install-deps.sh" pkg-config liblmdb-dev liblmdb0 redis-server redis-tools postgresql
command -v redis-benchmark >/dev/null 2>&1 || log "redis-benchmark not found: the fairness check will say n/a"
# pgbench of the PostgreSQL the test cluster runs (the newest installed), unless given.
if [ -z "${ASH_BENCH_PGBENCH:-}" ]; then
    pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$pg_bin" ] && [ -x "$pg_bin/pgbench" ]; then export ASH_BENCH_PGBENCH="$pg_bin/pgbench"; fi
fi
command -v "${ASH_BENCH_PGBENCH:-pgbench}" >/dev/null 2>&1 || log "pgbench not found: the PostgreSQL comparison will say n/a"

log "building ash-bench and ashd (release) in $package_dir"
(cd "$package_dir" && swift build -c release --product ash-bench >&2 && swift build -c release --product ashd >&2)
bin=$(cd "$package_dir" && swift build -c release --show-bin-path)

cpus=$(nproc)
pinned=${BENCH_PINNED:-$([ "$cpus" -ge 2 ] && echo yes || echo no)}
server_cpu=${BENCH_SERVER_CPU:-0}
client_cpu=${BENCH_CLIENT_CPU:-1}
case "$pinned" in
yes)
    [ "$cpus" -ge 2 ] || die "BENCH_PINNED=yes needs two CPUs; this machine has $cpus"
    command -v taskset >/dev/null 2>&1 || die "taskset (util-linux) is needed for the pinned run; or BENCH_PINNED=no"
    on_server=(taskset -c "$server_cpu")
    on_client=(taskset -c "$client_cpu")
    ashd_threads=(--threads 1)
    client_threads=(--client-threads 1)
    log "one core each: servers on CPU $server_cpu, ash-bench on CPU $client_cpu (BENCH_PINNED=no: all cores shared)"
    ;;
no)
    on_server=()
    on_client=()
    ashd_threads=()
    client_threads=()
    log "unpinned: servers and ash-bench share all $cpus CPUs"
    ;;
*) die "BENCH_PINNED must be yes or no, not '$pinned'" ;;
esac

work=$(mktemp -d -t ash-bench.XXXXXX)
chmod 755 "$work"
ashd_pids=()
postgres_started=no
cluster_started=no
cleanup() {
    local pid
    for pid in "${ashd_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${ashd_pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    for name in redis redis-always redis-everysec; do
        if [ -f "$work/$name/redis.pid" ]; then kill "$(cat "$work/$name/redis.pid")" 2>/dev/null || true; fi
    done
    if [ "$cluster_started" = yes ]; then "$here/test-servers/redis-cluster.sh" stop "$work/redis-cluster" >/dev/null 2>&1 || true; fi
    if [ "$postgres_started" = yes ]; then "$here/test-servers/postgres.sh" stop "$work/postgres" >/dev/null 2>&1 || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# start_redis NAME EXTRA-ARGS... ; prints the port
start_redis() {
    local name=$1; shift
    local dir="$work/$name" port
    mkdir -p "$dir"
    port=$(free_port)
    "${on_server[@]}" redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes \
        --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --save "" "$@" >&2
    for _ in $(seq 1 200); do
        [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && { echo "$port"; return 0; }
        sleep 0.05
    done
    die "$name did not answer PING; see $dir/redis.log"
}

redis_port=$(start_redis redis --appendonly no)
redis_always_port=$(start_redis redis-always --appendonly yes --appendfsync always)
redis_everysec_port=$(start_redis redis-everysec --appendonly yes --appendfsync everysec)
log "redis on $redis_port, redis-always on $redis_always_port, redis-everysec on $redis_everysec_port"
cluster_started=yes
eval "$("${on_server[@]}" "$here/test-servers/redis-cluster.sh" start "$work/redis-cluster")"
redis_cluster_url=$ASH_TEST_REDIS_CLUSTER_URL
log "redis-cluster at $redis_cluster_url"

mkdir -p "$work/postgres"
postgres_started=yes
eval "$("${on_server[@]}" "$here/test-servers/postgres.sh" start "$work/postgres")"
postgres_url=$ASH_TEST_POSTGRES_URL
postgres_pid=$(head -n 1 "$work/postgres/data/postmaster.pid")

# Started directly (not in $(...)) so the pids stay children of this shell.
pids=()
ports=()
for durability in none relaxed strict; do
    port=$(free_port)
    mkdir -p "$work/ashd-$durability"
    "${on_server[@]}" "$bin/ashd" --host 127.0.0.1 --port "$port" --data-dir "$work/ashd-$durability/data" \
        --durability "$durability" "${ashd_threads[@]}" --log-level warning >"$work/ashd-$durability/ashd.log" 2>&1 &
    ashd_pids+=("$!")
    pids+=("$!")
    ports+=("$port")
done
for index in 0 1 2; do wait_for_port "${ports[$index]}" "ashd (${pids[$index]})"; done
log "ashd none/relaxed/strict on ${ports[*]}"

mkdir -p "$out"
durable=create+consume
status=0
"${on_client[@]}" "$bin/ash-bench" "${client_threads[@]}" \
    --target "engine=engine:" \
    --target "ashd=ash://127.0.0.1:${ports[0]}" \
    --target "ashd-relaxed=ash://127.0.0.1:${ports[1]}" \
    --target "ashd-strict=ash://127.0.0.1:${ports[2]}" \
    --target "redis=redis://127.0.0.1:$redis_port" \
    --target "redis-everysec=redis://127.0.0.1:$redis_everysec_port" \
    --target "redis-always=redis://127.0.0.1:$redis_always_port" \
    --target "redis-cluster=$redis_cluster_url" \
    --target "postgres=$postgres_url" \
    --workloads-for "ashd-relaxed=$durable" --workloads-for "ashd-strict=$durable" \
    --workloads-for "redis-everysec=$durable" --workloads-for "redis-always=$durable" \
    --compare ashd-strict=redis-always --compare ashd-relaxed=redis-everysec \
    --pid "ashd=${pids[0]}" --pid "ashd-relaxed=${pids[1]}" --pid "ashd-strict=${pids[2]}" \
    --pid "postgres=$postgres_pid" \
    --baseline redis \
    --connections "${BENCH_CONNECTIONS:-50}" --depth "${BENCH_DEPTHS:-1,16}" \
    --duration "${BENCH_DURATION:-3s}" --warmup "${BENCH_WARMUP:-1s}" \
    --keyspace "${BENCH_KEYSPACE:-50000}" --memory-contexts "${BENCH_MEMORY_CONTEXTS:-50000}" \
    --ttl-ms "${BENCH_TTL_MS:-3600000}" \
    --json "$out/results.json" --svg "$out/results.svg" \
    ${BENCH_ARGS:-} || status=$?
if [ $status -eq 0 ]; then
    log "results: $out/results.json, $out/results.svg"
else
    log "ash-bench FAILED (exit status $status)"
fi
exit $status
