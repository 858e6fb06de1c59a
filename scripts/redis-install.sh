# shellcheck shell=bash
# ensure_redis: installs redis-server (and redis-cli) with apt-get when missing.
# Sourced by the test-server scripts; the caller defines log() and die().
ensure_redis() {
    if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
        return
    fi
    log "redis-server not found; installing it with apt-get"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install redis-server yourself"
        sudo="sudo"
    fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >&2
    command -v redis-server >/dev/null 2>&1 || die "redis-server is still missing after apt-get install"
}
