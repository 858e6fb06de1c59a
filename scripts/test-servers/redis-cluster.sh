#!/usr/bin/env bash
# A throwaway Redis Cluster for the test suite.
#
#   redis-cluster.sh start DIR   start six redis-server instances on 127.0.0.1 on
#                                free ports (each port P with its cluster bus port
#                                P+10000 free too), files in DIR/node1 .. DIR/node6,
#                                join them into a cluster of 3 primaries with one
#                                replica each, wait until every node agrees on it,
#                                and print `export NAME=VALUE` lines on stdout:
#       ASH_TEST_REDIS_CLUSTER_URL     redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
#       ASH_TEST_REDIS_CLUSTER_DIR     DIR (absolute)
#       ASH_TEST_REDIS_CLUSTER_SCRIPT  this script, for tests that start their own
#                                      cluster (failover, resharding)
#                                DIR/ports lists the six ports in node order;
#                                DIR/nodeN/redis.pid and DIR/nodeN/redis.log are
#                                node N's pid file and log.
#   redis-cluster.sh stop DIR    stop the instances started in DIR
#
# Several clusters may run at once, in different DIRs: nothing is shared outside DIR.
# Nothing is persisted. ASH_CLUSTER_NODE_TIMEOUT_MS sets cluster-node-timeout
# (default 1000); ASH_CLUSTER_START_TIMEOUT_S bounds the wait for the cluster to
# settle (default 30). redis-server is installed with apt-get when missing.
# Usage in a shell:  eval "$(scripts/test-servers/redis-cluster.sh start "$tmp")"
set -euo pipefail

NODES=6
PRIMARIES=3
REPLICAS=1 # per primary
BUS_PORT_OFFSET=10000

log() { echo "redis-cluster.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() { die "usage: redis-cluster.sh start DIR | redis-cluster.sh stop DIR"; }

# shellcheck source=scripts/redis-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../redis-install.sh"

# A port P such that the kernel reports P and P+10000 (the cluster bus port) free
# right now. Ports are drawn below the kernel's ephemeral range when it leaves room,
# so that outgoing connections cannot grab them; a random one if python3 is missing.
free_port() {
    local lo=10000 hi=$((65535 - BUS_PORT_OFFSET)) ephemeral_lo
    if ephemeral_lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null) &&
        [ -n "$ephemeral_lo" ] && [ $((ephemeral_lo - 1 - BUS_PORT_OFFSET)) -ge $((lo + 1000)) ]; then
        hi=$((ephemeral_lo - 1 - BUS_PORT_OFFSET))
    fi
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$lo" "$hi" "$BUS_PORT_OFFSET" <<'EOF'
import random, socket, sys
lo, hi, offset = (int(a) for a in sys.argv[1:4])
for _ in range(1000):
    port = random.randint(lo, hi)
    socks = []
    try:
        for p in (port, port + offset):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port pair found")
EOF
    else
        echo $((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    fi
}

# start_node DIR N -> starts node N in DIR/nodeN, prints its port
start_node() {
    local dir=$1 n=$2
    local node="$dir/node$n"
    local attempt port pid
    mkdir -p "$node"
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(free_port) || die "node$n: could not find a free port"
        rm -f "$node/redis.pid" "$node/nodes.conf" "$node/dump.rdb"
        : >"$node/redis.log"
        redis-server --cluster-enabled yes --cluster-config-file "$node/nodes.conf" \
            --cluster-node-timeout "${ASH_CLUSTER_NODE_TIMEOUT_MS:-1000}" \
            --cluster-require-full-coverage no --cluster-allow-reads-when-down no \
            --enable-debug-command local --repl-diskless-sync-delay 0 --save "" --appendonly no \
            --daemonize yes --pidfile "$node/redis.pid" --logfile "$node/redis.log" \
            --dir "$node" --bind 127.0.0.1 --port "$port" >&2 ||
            die "node$n: redis-server refused to start (see above and $node/redis.log)"
        local _
        for _ in $(seq 1 100); do
            if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
                echo "$port"
                return 0
            fi
            if grep -q "Address already in use" "$node/redis.log" 2>/dev/null; then
                break
            fi
            sleep 0.05
        done
        log "node$n did not answer PING on port $port (attempt $attempt); see $node/redis.log"
        if [ -f "$node/redis.pid" ]; then
            pid=$(cat "$node/redis.pid")
            kill "$pid" 2>/dev/null || true
        fi
    done
    die "could not start node$n; see $node/redis.log"
}

# cluster_view PORT -> the node's `cluster nodes`, one line per node, reduced to
# what every node must agree on (id, address, role, primary, slots), sorted.
# Fails when a node is flagged as failing, in handshake or without address.
cluster_view() {
    redis-cli -h 127.0.0.1 -p "$1" cluster nodes 2>/dev/null | awk '
        NF < 8 { next }
        {
            flags = $3
            sub(/^myself,/, "", flags)
            n = split(flags, f, ",")
            for (i = 1; i <= n; i++)
                if (f[i] == "fail" || f[i] == "fail?" || f[i] == "handshake" || f[i] == "noaddr") bad = 1
            line = $1 " " $2 " " flags " " $4
            for (i = 9; i <= NF; i++) line = line " " $i
            print line
        }
        END { if (bad) exit 1 }' | sort
}

# cluster_ready PORT... -> succeeds when all nodes report a healthy cluster with
# every slot assigned, all nodes known, identical views of who serves what, every
# replica's link to its primary up, and every replica listed in every node's
# CLUSTER SLOTS. Leaves the reason in $not_ready.
#
# Redis 7 leaves a replica out of CLUSTER SLOTS while its replication offset is 0,
# which it stays on an empty primary until the primary's next replication PING
# (repl-ping-replica-period, 10 s). So once the replicas are linked, each primary
# gets one FLUSHALL (of its empty data set): it is always replicated and moves the
# offsets on.
not_ready=""
offsets_moved=no
cluster_ready() {
    local port info view first_view=""
    for port in "$@"; do
        info=$(redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | tr -d '\r') || info=""
        if ! grep -qx "cluster_state:ok" <<<"$info" ||
            ! grep -qx "cluster_slots_assigned:16384" <<<"$info" ||
            ! grep -qx "cluster_known_nodes:$NODES" <<<"$info"; then
            not_ready="127.0.0.1:$port: cluster info: $(grep -E '^cluster_(state|slots_assigned|known_nodes):' <<<"$info" | tr '\n' ' ')"
            return 1
        fi
    done
    for port in "$@"; do
        if ! view=$(cluster_view "$port"); then
            not_ready="127.0.0.1:$port sees a node failing or in handshake"
            return 1
        fi
        if [ -z "$first_view" ]; then
            first_view=$view
        elif [ "$view" != "$first_view" ]; then
            not_ready="127.0.0.1:$port and 127.0.0.1:$1 disagree on the cluster layout"
            return 1
        fi
    done
    local primaries replicas replicated
    primaries=$(awk '$3 ~ /master/ && NF > 4' <<<"$first_view" | wc -l)
    replicas=$(awk '$3 ~ /slave/' <<<"$first_view" | wc -l)
    replicated=$(awk '$3 ~ /slave/ { print $4 }' <<<"$first_view" | sort -u | wc -l)
    if [ "$primaries" -ne "$PRIMARIES" ] || [ "$replicas" -ne "$PRIMARIES" ] || [ "$replicated" -ne "$PRIMARIES" ]; then
        not_ready="$primaries primaries with slots, $replicas replicas of $replicated primaries; want $PRIMARIES of each"
        return 1
    fi
    for port in "$@"; do
        info=$(redis-cli -h 127.0.0.1 -p "$port" info replication 2>/dev/null | tr -d '\r') || info=""
        if grep -qx "role:slave" <<<"$info" && ! grep -qx "master_link_status:up" <<<"$info"; then
            not_ready="replica 127.0.0.1:$port: $(grep -E '^master_link_status:' <<<"$info")"
            return 1
        fi
    done
    if [ "$offsets_moved" = no ]; then
        local role
        for port in "$@"; do
            role=$(redis-cli -h 127.0.0.1 -p "$port" role 2>/dev/null) || role=""
            if [ "${role%%$'\n'*}" = master ]; then
                redis-cli -h 127.0.0.1 -p "$port" flushall >/dev/null 2>&1 || true
            fi
        done
        offsets_moved=yes
    fi
    local listed
    for port in "$@"; do
        listed=$(redis-cli -h 127.0.0.1 -p "$port" cluster slots 2>/dev/null | tr -d '\r' | grep -cE '^[0-9a-f]{40}$') || listed=0
        if [ "$listed" -ne "$NODES" ]; then
            not_ready="127.0.0.1:$port lists $listed of $NODES nodes in CLUSTER SLOTS"
            return 1
        fi
    done
}

# is_running PID: the process exists and is not a zombie (an exited daemon stays a
# zombie until init reaps it, which some inits do lazily).
is_running() {
    kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ "$state" != Z ]
}

# stop_all DIR: SIGTERM to every node of DIR, then up to 5 s for them to exit,
# then SIGKILL for the rest.
stop_all() {
    local dir=$1
    local pidfile pid cmdline pids=() names=()
    for pidfile in "$dir"/node*/redis.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        rm -f "$pidfile"
        [ -n "$pid" ] || continue
        # A stale pid file must not make us kill someone else's process.
        if [ -r "/proc/$pid/cmdline" ]; then
            cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || cmdline=""
            case "$cmdline" in *redis-server*) ;; *) continue ;; esac
        fi
        if kill "$pid" 2>/dev/null; then
            pids+=("$pid")
            names+=("$(basename "$(dirname "$pidfile")")")
        fi
    done
    [ ${#pids[@]} -gt 0 ] || return 0
    local _ alive i
    for _ in $(seq 1 100); do
        alive=no
        for pid in "${pids[@]}"; do
            if is_running "$pid"; then alive=yes; break; fi
        done
        [ "$alive" = yes ] || break
        sleep 0.05
    done
    for i in "${!pids[@]}"; do
        if is_running "${pids[$i]}"; then
            log "${names[$i]} (pid ${pids[$i]}) did not stop; killing it"
            kill -9 "${pids[$i]}" 2>/dev/null || true
        fi
    done
}

# EXIT trap while starting: stops the nodes started so far when the start fails.
cleanup_failed_start() {
    local status=$?
    if [ $status -ne 0 ]; then stop_all "$dir"; fi
    exit $status
}

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ] || [ -n "${3:-}" ]; then usage; fi

case "$command" in
start)
    ensure_redis
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    script=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
    for pidfile in "$dir"/node*/redis.pid; do
        if [ -f "$pidfile" ] && is_running "$(cat "$pidfile")"; then
            die "a cluster node of $dir runs already ($pidfile); run: $script stop $dir"
        fi
    done
    # Do not leave half a cluster running when something below fails.
    trap cleanup_failed_start EXIT
    started=$(date +%s.%N)
    # Start the nodes side by side; each retries on its own when its port is taken.
    node_jobs=()
    for n in $(seq 1 "$NODES"); do
        mkdir -p "$dir/node$n"
        rm -f "$dir/node$n/port"
        start_node "$dir" "$n" >"$dir/node$n/port" &
        node_jobs+=($!)
    done
    failed=no
    for job in "${node_jobs[@]}"; do wait "$job" || failed=yes; done
    [ "$failed" = no ] || die "could not start all nodes; see $dir/node*/redis.log"
    ports=()
    for n in $(seq 1 "$NODES"); do
        port=$(cat "$dir/node$n/port")
        [ -n "$port" ] || die "node$n did not report its port; see $dir/node$n/redis.log"
        ports+=("$port")
        rm -f "$dir/node$n/port"
    done
    printf '%s\n' "${ports[@]}" >"$dir/ports"
    addresses=()
    for port in "${ports[@]}"; do addresses+=("127.0.0.1:$port"); done
    log "started redis-server on ${addresses[*]}; creating the cluster"
    # TERM=dumb: no colour escapes in the log.
    if ! TERM=dumb redis-cli --cluster create "${addresses[@]}" --cluster-replicas "$REPLICAS" --cluster-yes >&2 </dev/null; then
        die "redis-cli --cluster create failed; see $dir/node*/redis.log"
    fi
    timeout_s=${ASH_CLUSTER_START_TIMEOUT_S:-30}
    ready=no
    deadline=$((SECONDS + timeout_s))
    while :; do
        if cluster_ready "${ports[@]}"; then ready=yes; break; fi
        [ "$SECONDS" -lt "$deadline" ] || break
        sleep 0.1
    done
    if [ "$ready" != yes ]; then
        die "the cluster did not settle within ${timeout_s}s ($not_ready); see $dir/node*/redis.log"
    fi
    elapsed=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    log "cluster ready in ${elapsed}s on ${addresses[*]}; files in $dir"
    trap - EXIT
    echo "export ASH_TEST_REDIS_CLUSTER_URL=redis+cluster://${addresses[0]},${addresses[1]},${addresses[2]}"
    echo "export ASH_TEST_REDIS_CLUSTER_DIR=$(printf '%q' "$dir")"
    echo "export ASH_TEST_REDIS_CLUSTER_SCRIPT=$(printf '%q' "$script")"
    ;;
stop)
    [ -d "$dir" ] || exit 0
    stop_all "$dir"
    log "stopped the redis-server instances in $dir"
    ;;
*)
    usage
    ;;
esac
