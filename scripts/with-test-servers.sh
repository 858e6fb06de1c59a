#!/usr/bin/env bash
# Starts the servers the test suite needs (each scripts/test-servers/NAME.sh),
# exports their URLs, runs the given command, stops the servers, and exits
# with the command's status.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d -t ash-test-servers.XXXXXX)
chmod 755 "$work"
started=()
stop_all() {
    for name in "${started[@]}"; do
        "scripts/test-servers/$name.sh" stop "$work/$name" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap stop_all EXIT
for script in scripts/test-servers/*.sh; do
    [ -e "$script" ] || continue
    name=$(basename "$script" .sh)
    mkdir -p "$work/$name"
    echo "Starting test server: $name"
    exports=$("$script" start "$work/$name")
    started+=("$name")
    eval "$exports"
done
status=0
"$@" || status=$?
if [ $status -ne 0 ]; then
    echo "Tests FAILED (exit status $status)" >&2
fi
exit $status
