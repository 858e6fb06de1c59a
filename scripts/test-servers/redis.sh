#!/usr/bin/env bash
# Throwaway Redis servers for the test suite.
#
#   redis.sh start DIR [--persist]   start two redis-server instances on 127.0.0.1
#                                    on free ports, with their files in DIR, and
#                                    print `export NAME=VALUE` lines on stdout:
#       ASH_TEST_REDIS_URL       redis://127.0.0.1:PORT          (no password)
#       ASH_TEST_REDIS_AUTH_URL  redis://:PASSWORD@127.0.0.1:PORT2 (requirepass)
#       ASH_TEST_REDIS_SERVER    the redis-server binary, for tests that start
#                                their own instance
#   redis.sh stop DIR                stop the instances started in DIR
#
# Nothing is persisted unless --persist is given (then AOF, fsync every second).
# redis-server is installed with apt-get when missing.
# Usage in a shell:  eval "$(scripts/test-servers/redis.sh start "$tmp")"
set -euo pipefail

log() { echo "redis.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() { die "usage: redis.sh start DIR [--persist] | redis.sh stop DIR"; }

# shellcheck source=scripts/redis-install.sh
. "$(dirname "${BASH_SOURCE[0]}")/../redis-install.sh"

# A port the kernel reports free right now; a random one if python3 is missing.
free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        echo $((20000 + RANDOM % 40000))
    fi
}

# start_instance DIR NAME PASSWORD PERSIST -> prints the port
start_instance() {
    local dir=$1 name=$2 password=$3 persist=$4
    local attempt port
    for attempt in 1 2 3 4 5 6 7 8 9 10; do
        port=$(free_port)
        local args=(--bind 127.0.0.1 --port "$port" --dir "$dir" --daemonize yes
            --pidfile "$dir/$name.pid" --logfile "$dir/$name.log"
            --save "" --dbfilename "$name.rdb")
        if [ "$persist" = yes ]; then
            args+=(--appendonly yes --appendfsync everysec --appendfilename "$name.aof")
        else
            args+=(--appendonly no)
        fi
        if [ -n "$password" ]; then args+=(--requirepass "$password"); fi
        rm -f "$dir/$name.pid"
        redis-server "${args[@]}" >&2 || true
        local auth=()
        if [ -n "$password" ]; then auth=(--no-auth-warning -a "$password"); fi
        local _
        for _ in $(seq 1 100); do
            if [ "$(redis-cli -h 127.0.0.1 -p "$port" "${auth[@]}" ping 2>/dev/null)" = "PONG" ]; then
                echo "$port" >"$dir/$name.port"
                echo "$port"
                return 0
            fi
            if grep -q "Address already in use" "$dir/$name.log" 2>/dev/null; then
                break
            fi
            sleep 0.05
        done
        log "$name did not answer PING on port $port (attempt $attempt); see $dir/$name.log"
        if [ -f "$dir/$name.pid" ]; then kill "$(cat "$dir/$name.pid")" 2>/dev/null || true; fi
        : >"$dir/$name.log"
    done
    die "could not start $name"
}

stop_instance() {
    local dir=$1 name=$2
    [ -f "$dir/$name.pid" ] || return 0
    local pid
    pid=$(cat "$dir/$name.pid")
    if kill "$pid" 2>/dev/null; then
        local _
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "$name (pid $pid) did not stop; killing it"
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$dir/$name.pid" "$dir/$name.port"
}

command=${1:-}
dir=${2:-}
if [ -z "$command" ] || [ -z "$dir" ]; then usage; fi

case "$command" in
start)
    persist=no
    if [ "${3:-}" = "--persist" ]; then persist=yes; elif [ -n "${3:-}" ]; then usage; fi
    ensure_redis
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
    plain_port=$(start_instance "$dir" redis-plain "" "$persist")
    auth_port=$(start_instance "$dir" redis-auth "$password" "$persist")
    log "started redis-server on 127.0.0.1:$plain_port and 127.0.0.1:$auth_port (with a password); files in $dir"
    echo "export ASH_TEST_REDIS_URL=redis://127.0.0.1:$plain_port"
    echo "export ASH_TEST_REDIS_AUTH_URL=redis://:$password@127.0.0.1:$auth_port"
    echo "export ASH_TEST_REDIS_SERVER=$(command -v redis-server)"
    ;;
stop)
    [ -d "$dir" ] || exit 0
    stop_instance "$dir" redis-plain
    stop_instance "$dir" redis-auth
    log "stopped the redis-server instances in $dir"
    ;;
*)
    usage
    ;;
esac
