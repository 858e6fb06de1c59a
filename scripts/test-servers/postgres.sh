#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL server for the test suite.
#
#   postgres.sh start DIR   installs PostgreSQL with apt-get when missing, creates a
#                           cluster in DIR/data, serves it on 127.0.0.1 on a free
#                           port, and prints on stdout:
#                             export ASH_TEST_POSTGRES_URL=postgres://ash:PASS@127.0.0.1:PORT/ash_test
#                           (run it as `eval "$(postgres.sh start DIR)"`). Starting a
#                           DIR whose server runs already prints the same line again.
#   postgres.sh stop DIR    stops that server (pg_ctl stop -m fast); a no-op when none runs.
#
# PostgreSQL refuses to run as root: as root, the server runs as the `postgres` system
# user (created when missing) and DIR is handed to it. Password authentication
# (scram-sha-256) for a test role `ash` on TCP; the socket lives in DIR. The cluster is
# tuned for throwaway tests (fsync off): never point it at data you want to keep.
# Everything but the export line goes to stderr.
set -euo pipefail

PG_USER=postgres
ROLE=ash
DATABASE=ash_test

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() { die "usage: $0 start|stop DIR"; }

# Runs a command as the unprivileged server user (or as ourselves when not root).
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$PG_USER" -- "$@"
        else
            su "$PG_USER" -s /bin/bash -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

# Finds the directory holding initdb/pg_ctl/postgres: $PG_BIN, Debian's newest
# /usr/lib/postgresql/<version>/bin, or PATH.
find_bin_dir() {
    if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then
        printf '%s\n' "$PG_BIN"
        return 0
    fi
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        printf '%s\n' "$dir"
        return 0
    fi
    if command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

install_postgres() {
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root"
    command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available"
    log "installing PostgreSQL with apt-get"
    # Do not let the package create and start its own cluster on port 5432.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        mkdir -p /etc/postgresql-common
        printf 'create_main_cluster = false\n' > /etc/postgresql-common/createcluster.conf
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold postgresql >&2
}

ensure_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    if ! id "$PG_USER" >/dev/null 2>&1; then
        log "creating system user $PG_USER"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
        return
    fi
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return
        fi
    done
    die "found no free port"
}

random_password() {
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

is_running() {
    [ -f "$DATA/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

wait_ready() {
    local port=$1
    for _ in $(seq 1 120); do
        if as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
            return 0
        fi
        sleep 0.5
    done
    die "PostgreSQL did not become ready; see $DIR/postgres.log"
}

start() {
    if ! BIN=$(find_bin_dir); then
        install_postgres
        BIN=$(find_bin_dir) || die "PostgreSQL binaries not found after installing"
    fi
    ensure_user
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    DATA="$DIR/data"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$PG_USER" "$DIR"
        chmod 700 "$DIR"
        as_pg test -x "$DIR" || die "user $PG_USER cannot reach $DIR: make its parent directories traversable (chmod o+x) or use a directory under /tmp"
    fi
    cd "$DIR"

    if is_running && [ -f "$DIR/url" ]; then
        log "already running"
        printf 'export ASH_TEST_POSTGRES_URL=%s\n' "$(cat "$DIR/url")"
        return
    fi

    local port password
    if [ -f "$DATA/PG_VERSION" ] && [ -f "$DIR/port" ] && [ -f "$DIR/url" ]; then
        port=$(cat "$DIR/port")
        log "restarting the cluster in $DATA on port $port"
    else
        [ ! -e "$DATA" ] || die "$DATA exists but is not a complete cluster from this script; remove it"
        password=$(random_password)
        local pwfile="$DIR/.superuser-password"
        (umask 077 && random_password > "$pwfile")
        [ "$(id -u)" -ne 0 ] || chown "$PG_USER" "$pwfile"
        log "creating a cluster in $DATA with $BIN"
        as_pg "$BIN/initdb" -D "$DATA" -U postgres --pwfile="$pwfile" -E UTF8 --locale=C \
            --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 \
            || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
        rm -f "$pwfile"
        port=$(free_port)
        as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF
# Added by postgres.sh: a throwaway test server on loopback.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
        printf '%s\n' "$port" > "$DIR/port"
    fi

    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DIR/postgres.log" -w -t 60 start >&2 \
        || { tail -n 30 "$DIR/postgres.log" >&2 || true; die "pg_ctl start failed"; }
    wait_ready "$port"

    if [ -n "${password:-}" ]; then
        as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR" -p "$port" -U postgres -d postgres \
            -c "CREATE ROLE $ROLE LOGIN PASSWORD '$password'" \
            -c "CREATE DATABASE $DATABASE OWNER $ROLE" >&2
        printf 'postgres://%s:%s@127.0.0.1:%s/%s\n' "$ROLE" "$password" "$port" "$DATABASE" > "$DIR/url"
        chmod 600 "$DIR/url"
    fi
    log "PostgreSQL ($("$BIN/postgres" --version)) listening on 127.0.0.1:$port"
    printf 'export ASH_TEST_POSTGRES_URL=%s\n' "$(cat "$DIR/url")"
}

stop() {
    [ -d "$DIR" ] || { log "no directory $DIR: nothing to stop"; return 0; }
    DIR=$(cd "$DIR" && pwd)
    DATA="$DIR/data"
    BIN=$(find_bin_dir) || { log "PostgreSQL is not installed: nothing to stop"; return 0; }
    cd "$DIR"
    if is_running; then
        as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    else
        log "not running"
    fi
}

[ $# -eq 2 ] || usage
DIR=$2
case "$1" in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac
