#!/usr/bin/env bash
# A 1 MiB tmpfs for the LMDB disk-full test (ASH_LMDB_SMALL_FS).
#   small-fs.sh start DIR   mounts it at DIR/mnt and prints the export line
#   small-fs.sh stop DIR    unmounts it
# Mounting needs root (CI runs as root); elsewhere the test is skipped.
set -euo pipefail
command=${1:?usage: small-fs.sh start|stop DIR}
dir=${2:?usage: small-fs.sh start|stop DIR}
case "$command" in
start)
    mkdir -p "$dir/mnt"
    if mount -t tmpfs -o size=1m,mode=0777 ash-small-fs "$dir/mnt" 2>/dev/null; then
        echo "export ASH_LMDB_SMALL_FS='$dir/mnt'"
    else
        echo "small-fs: cannot mount a tmpfs here (not root?); the LMDB disk-full test on a real full device is skipped" >&2
    fi
    ;;
stop)
    if mountpoint -q "$dir/mnt" 2>/dev/null; then umount "$dir/mnt"; fi
    ;;
*)
    echo "usage: small-fs.sh start|stop DIR" >&2
    exit 2
    ;;
esac
