#!/usr/bin/env bash
# `make fuzz`: coverage-guided fuzzing with libFuzzer.
#
# Builds the fuzz executables (Fuzz/<Name>/, added to the package only when
# ASH_FUZZ is set) with -sanitize=fuzzer,address in their own build folder,
# .build-fuzz, then runs each for FUZZ_SECONDS. The harnesses themselves are
# in Sources/AshFuzzing; `swift test --filter AshFuzzingTests` replays the
# committed inputs (Fuzz/Corpus, Fuzz/Regressions) through them.
#
#   scripts/fuzz.sh           build, then run every target (or FUZZ_TARGETS)
#   scripts/fuzz.sh build     build only
#   scripts/fuzz.sh run       run only (what was built last)
#   scripts/fuzz.sh seeds     rewrite the generated inputs (Fuzz/Corpus/*/seed-*,
#                             Fuzz/Regressions/*/known-*) from AshFuzzing's FuzzSeeds
#
# Environment (defaults in brackets):
#   FUZZ_TARGETS  [all]  names, space- or comma-separated: FuzzWireSession
#                 FuzzEngineRequests FuzzResp FuzzCanonical FuzzLMDBRecord FuzzWriteAheadLog
#   FUZZ_SECONDS  [600]  how long each target runs (-max_total_time)
#   FUZZ_JOBS     [1]    how many targets run at once
#   FUZZ_ARGS            more libFuzzer flags, e.g. "-jobs=2 -workers=2" or "-fork=2 -ignore_crashes=1"
#   FUZZ_WORK     [.build-fuzz/work]  where inputs found (corpus/<Name>), crash
#                 artifacts (artifacts/<Name>) and logs (logs/<Name>.log) go
#   FUZZ_CONFIGURATION [release]  or debug (slower; also checks `assert`)
#
# The committed seeds (Fuzz/Corpus/<Name>) and regressions (Fuzz/Regressions/<Name>)
# are read, never written. To reproduce or minimize a crash:
#   .build-fuzz/release/FuzzResp <crash-file>
#   .build-fuzz/release/FuzzResp -minimize_crash=1 -runs=100000 -exact_artifact_path=min <crash-file>
# and commit the minimized input under Fuzz/Regressions/<Name>/.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
package_dir=$(cd "$here/.." && pwd)
cd "$package_dir"

swift=${SWIFT:-swift}
all_targets="FuzzWireSession FuzzEngineRequests FuzzResp FuzzCanonical FuzzLMDBRecord FuzzWriteAheadLog"
targets=$(echo "${FUZZ_TARGETS:-$all_targets}" | tr ',' ' ')
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-1}
work=${FUZZ_WORK:-.build-fuzz/work}
configuration=${FUZZ_CONFIGURATION:-release}
scratch=.build-fuzz

for target in $targets; do
    case " $all_targets " in
    *" $target "*) ;;
    *) echo "fuzz.sh: unknown target '$target' (known: $all_targets)" >&2; exit 2 ;;
    esac
done

build() {
    # -sanitize=fuzzer,address: coverage for libFuzzer, AddressSanitizer.
    # -parse-as-library: each executable's @main hands over to libFuzzer.
    # Optimized by default (about 8x the executions of a debug build), with
    # what a debug build would add: the engine's internal checks
    # (ASH_INTERNAL_CHECKS) and a testable AshDaemon for FuzzEngineRequests
    # (-enable-testing, ASH_FUZZING). Overflow and precondition traps stay on
    # in optimized Swift; only `assert` is compiled out.
    local flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
    if [[ $configuration == release ]]; then
        flags+=(-Xswiftc -enable-testing -Xswiftc -DASH_FUZZING -Xswiftc -DASH_INTERNAL_CHECKS)
    fi
    for target in $targets; do
        echo "==> building $target ($configuration)"
        # ld.gold warns about every ASan symbol it cannot export; nothing to act on.
        ASH_FUZZ=1 "$swift" build --scratch-path "$scratch" -c "$configuration" --product "$target" "${flags[@]}" 2>&1 |
            grep -v "Cannot export local symbol"
    done
}

# Runs one target; its libFuzzer output goes to its log.
run_one() {
    local target=$1
    local binary="$scratch/$configuration/$target"
    local corpus="$work/corpus/$target" artifacts="$work/artifacts/$target" log="$work/logs/$target.log"
    [[ -x $binary ]] || { echo "fuzz.sh: $binary is missing: run scripts/fuzz.sh build" >&2; return 2; }
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    local inputs=("$corpus" "Fuzz/Corpus/$target")
    [[ -d Fuzz/Regressions/$target ]] && inputs+=("Fuzz/Regressions/$target")
    echo "==> $target for ${seconds}s (log: $log)"
    local status=0
    # SWIFT_BACKTRACE: Swift's crash handler would race libFuzzer's (and ASan
    # flags its stack reads); libFuzzer prints the stack and saves the input.
    # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
    SWIFT_BACKTRACE=enable=no "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "${inputs[@]}" >"$log" 2>&1 || status=$?
    summarize "$target" "$status"
    return "$status"
}

summarize() {
    local target=$1 status=$2 log="$work/logs/$1.log"
    local last
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
    local peak
    peak=$(grep -E '^stat::peak_rss_mb' "$log" | awk '{print $2}' || true)
    echo "--- $target: exit $status; ${last:-no progress line}; peak RSS ${peak:-?} MB; corpus $(find "$work/corpus/$target" -type f | wc -l) files"
    if [[ $status -ne 0 ]]; then
        grep -E 'ERROR: libFuzzer|SUMMARY:|Fatal error|fuzz property violated|Test unit written' "$log" | head -n 8 || true
    fi
}

run() {
    local failed=0 pids=()
    for target in $targets; do
        run_one "$target" &
        pids+=($!)
        if ((${#pids[@]} >= jobs)); then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    if ((failed)); then
        echo "fuzz.sh: a target failed; crash inputs are in $work/artifacts/" >&2
        return 1
    fi
}

case "${1:-all}" in
build) build ;;
run) run ;;
all) build && run ;;
seeds) ASH_FUZZ_WRITE_SEEDS=1 "$swift" test --filter 'CorpusReplayTests/writeSeeds' ;;
*) echo "usage: scripts/fuzz.sh [build|run|seeds]" >&2; exit 2 ;;
esac
