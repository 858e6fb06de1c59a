#!/usr/bin/env bash
# Usage: scripts/ash-sdk-venv.sh DIR
#
# Makes DIR a Python virtual environment with PyPI's ash-sdk==2.3.3, the
# independent client the tests use to build ASH headers. Idempotent: a DIR
# that already imports that version is left alone. Prints nothing unless
# something fails; then it prints the failing tool's output and exits non-zero.
# PYTHON selects the interpreter used to create the venv (default: python3).
set -euo pipefail

readonly ASH_SDK_VERSION="2.3.3"

if [ "$#" -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir="$1"
venv_python="$dir/bin/python"

has_sdk() {
  "$venv_python" - "$ASH_SDK_VERSION" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
from ash.client import AshClient  # noqa: F401  (import must work, not just the metadata)
sys.exit(0 if version("ash-sdk") == sys.argv[1] else 1)
PY
}

if [ -x "$venv_python" ] && has_sdk; then
  exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

if [ ! -x "$venv_python" ]; then
  if ! "${PYTHON:-python3}" -m venv "$dir" >"$log" 2>&1; then
    echo "ash-sdk-venv: could not create a venv in $dir:" >&2
    cat "$log" >&2
    exit 1
  fi
fi

if ! "$venv_python" -m pip install --quiet --disable-pip-version-check --no-input \
    "ash-sdk==$ASH_SDK_VERSION" >"$log" 2>&1; then
  echo "ash-sdk-venv: pip install ash-sdk==$ASH_SDK_VERSION failed:" >&2
  cat "$log" >&2
  exit 1
fi

if ! has_sdk; then
  echo "ash-sdk-venv: ash-sdk==$ASH_SDK_VERSION installed but 'from ash.client import AshClient' fails in $dir" >&2
  exit 1
fi
