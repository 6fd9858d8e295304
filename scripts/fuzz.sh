#!/usr/bin/env bash
# Fuzzes the project with libFuzzer: builds the Fuzz/ package with AddressSanitizer and runs every
# fuzz target on seeds made from Examples/, the tests and the conformance data. Results: Fuzz/RESULTS.md.
#
# Usage:
#   scripts/fuzz.sh [--short]          CI: a fixed number of executions per target with a fixed seed,
#                                      from the seeds only (a fresh corpus each time).
#   scripts/fuzz.sh --long [SECONDS]   SECONDS per target (default 600) with a random seed; the corpus
#                                      is kept in the work dir and grows from run to run.
#   scripts/fuzz.sh --build            build only.
# Options (after the mode):
#   --targets "FuzzReview FuzzImageUser"   run only these (default: all seven)
#   --work DIR                             work dir (default: $FUZZ_WORK_DIR or Fuzz/.build/fuzz-work)
#   --jobs N                               targets fuzzed at once (default: the number of cores)
# Environment: FUZZ_SHORT_RUNS (executions per target in --short), FUZZ_SEED, FUZZ_CONFIGURATION
# (debug or release; default debug for --short and --build, release for --long).
#
# Why two configurations: on 2 cores a cold build takes about 4.5 min in debug and about 9 min in release
# (AsyncHTTPClient, SwiftNIO and two copies of BoringSSL come with the registry client, all built with
# ASan), while release runs the targets 3-4 times faster. CI's short pass needs the cheap build; a long
# pass earns the expensive one back.
#
# Exit status: non-zero when the build fails or any target crashes, leaks, times out or runs out of
# memory. The crashing inputs are kept under WORK/MODE/artifacts/TARGET/ and their paths printed,
# with the command that reproduces and the one that minimises each.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets=(FuzzReview FuzzJSONDifferential FuzzImageReference FuzzImageUser FuzzRegistryDocuments FuzzReviewInput FuzzYAML)
mode=short
long_seconds=600
case "${1:-}" in
    --short|"") mode=short; [ $# -gt 0 ] && shift ;;
    --long)
        mode=long; shift
        if [[ "${1:-}" =~ ^[0-9]+$ ]]; then long_seconds=$1; shift; fi ;;
    --build) mode=build; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
targets=("${all_targets[@]}")
work=${FUZZ_WORK_DIR:-$root/Fuzz/.build/fuzz-work}
jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
    case "$1" in
        --targets) read -r -a targets <<< "$2"; shift 2 ;;
        --work) work=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        *) echo "fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
for t in "${targets[@]}"; do
    [[ " ${all_targets[*]} " == *" $t "* ]] || { echo "fuzz.sh: unknown target $t" >&2; exit 2; }
done

# Executions per target in --short, fixed, set by each target's speed so that each takes about half a
# minute in the debug build: with the build, about 6.5 minutes on 2 cores (RESULTS.md).
# FUZZ_SHORT_RUNS overrides them all.
short_runs() {
    if [ -n "${FUZZ_SHORT_RUNS:-}" ]; then echo "$FUZZ_SHORT_RUNS"; return; fi
    case "$1" in
        FuzzReview) echo 50000 ;;
        FuzzJSONDifferential) echo 60000 ;;
        FuzzImageReference) echo 200000 ;;
        FuzzImageUser) echo 200000 ;;
        FuzzRegistryDocuments) echo 100000 ;;
        FuzzReviewInput) echo 40000 ;;
        FuzzYAML) echo 60000 ;;
    esac
}
if [ "$mode" = long ]; then configuration=${FUZZ_CONFIGURATION:-release}; else configuration=${FUZZ_CONFIGURATION:-debug}; fi

# Per target: the longest input (the recorded reviews reach 9.5 KB; references and USERs are short).
max_len() {
    case "$1" in
        FuzzReview|FuzzJSONDifferential|FuzzReviewInput) echo 12288 ;;
        FuzzRegistryDocuments|FuzzYAML) echo 4096 ;;
        FuzzImageReference) echo 512 ;;
        FuzzImageUser) echo 128 ;;
    esac
}
# Seconds one input may take before it counts as a hang: in the long runs no input took as long as one
# second (stat::slowest_unit_time_sec 0), so 10 s leaves room for a slower machine and the debug build.
timeout_seconds=10
# libFuzzer's default memory limit, made explicit; a single malloc above it is reported too.
rss_limit_mb=2048

# AddressSanitizer with LeakSanitizer. Leak checking stays on: Swift globals and metadata caches are
# reachable from global storage, so LeakSanitizer does not report them (none was seen; see RESULTS.md).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1:symbolize=1:print_summary=1}"
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
    symbolizer=$(dirname "$(readlink -f "$(command -v swift)")")/llvm-symbolizer
    [ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
fi

elapsed() { awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $1 }"; }

# --- build -----------------------------------------------------------------------------------------
build_start=$(date +%s.%N)
echo "fuzz: building Fuzz/ ($configuration, -sanitize=fuzzer,address)"
# Line tables are enough for symbolised stack traces; full debug info (and any for C) only costs build time.
build_args=(-c "$configuration" --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
    -Xswiftc -gline-tables-only -Xcc -g0 -Xcxx -g0)
mkdir -p Fuzz/.build
if ! swift build "${build_args[@]}" > Fuzz/.build/fuzz-build.log 2>&1; then
    grep -E "error:" Fuzz/.build/fuzz-build.log | head -40 >&2 || true
    echo "fuzz: build failed; full log: Fuzz/.build/fuzz-build.log" >&2
    exit 1
fi
bin=$(swift build "${build_args[@]}" --show-bin-path)
build_seconds=$(elapsed "$build_start")
printf 'fuzz: built in %.0f s: %s\n' "$build_seconds" "$bin"
[ "$mode" = build ] && exit 0

# --- seeds -----------------------------------------------------------------------------------------
run_dir=$work/$mode
if [ "$mode" = short ]; then
    rm -rf "$run_dir"   # a fixed seed on a fresh corpus, so that short runs compare
    seed=${FUZZ_SEED:-1}
    # Swift seeds Hasher per process, which reorders Sets and Dictionaries and so changes coverage from
    # run to run. Fixed here; what is hashed by address (ObjectIdentifier) still moves with ASLR, so
    # corpus size and features still differ by a few percent between short runs. Executions do not.
    export SWIFT_DETERMINISTIC_HASHING=1
else
    seed=${FUZZ_SEED:-0}  # 0: libFuzzer picks one and prints it
fi
mkdir -p "$run_dir"
rm -rf "$run_dir/seeds"
python3 Fuzz/make-seeds.py "$root" "$run_dir/seeds"

# --- fuzz ------------------------------------------------------------------------------------------
run_target() {
    local t=$1
    local corpus=$run_dir/corpus/$t artifacts=$run_dir/artifacts/$t/ log=$run_dir/logs/$t.log
    # The corpus carries over between long runs; findings belong to this run only.
    rm -rf "$artifacts"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    local limit
    if [ "$mode" = short ]; then limit=(-runs="$(short_runs "$t")"); else limit=(-max_total_time="$long_seconds"); fi
    local start status=0
    start=$(date +%s.%N)
    "$bin/$t" "${limit[@]}" -seed="$seed" -max_len="$(max_len "$t")" -timeout="$timeout_seconds" \
        -rss_limit_mb="$rss_limit_mb" -detect_leaks=1 -dict="$root/Fuzz/Dictionaries/$t.dict" \
        -artifact_prefix="$artifacts" -print_final_stats=1 \
        "$corpus" "$run_dir/seeds/$t" > "$log" 2>&1 || status=$?
    echo "$status $(elapsed "$start")" > "$run_dir/logs/$t.status"
}

echo "fuzz: $mode run of ${#targets[@]} targets, $( [ "$mode" = short ] && echo "a fixed number of executions" || echo "$long_seconds s") each, $jobs at a time, seed $seed; work dir $run_dir"
running=0
for t in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
    run_target "$t" &
    running=$((running + 1))
done
wait

# --- report ----------------------------------------------------------------------------------------
failed=0
passed=0
crash_lines=()
printf '\n%-22s %10s %8s %8s %7s %6s %7s %7s %8s  %s\n' target executions seconds exec/s corpus cov features new-ft crashes result
for t in "${targets[@]}"; do
    log=$run_dir/logs/$t.log
    read -r status seconds < "$run_dir/logs/$t.status"
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
    status_lines=$(grep -E '^#[0-9]+.*(cov|ft): ' "$log" || true)
    inited=$(grep -E '^#[0-9]+\s+INITED' "$log" | head -1 || true)
    last=$(echo "$status_lines" | tail -1)
    field() { echo "$1" | sed -n "s/.* $2: \([0-9]*\).*/\1/p"; }
    cov=$(field "$last" cov); ft=$(field "$last" ft)
    corpus=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p')
    inited_ft=$(field "$inited" ft)
    new_ft=$(( ${ft:-0} - ${inited_ft:-0} ))
    artifacts=$(find "$run_dir/artifacts/$t" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort || true)
    crashes=$(echo -n "$artifacts" | grep -c . || true)
    if [ -z "$executions" ]; then executions=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p'); fi
    rate=$(awk "BEGIN { printf \"%d\", ${executions:-0} / $seconds }")
    if [ "$status" -eq 0 ] && [ "$crashes" -eq 0 ]; then result=ok; passed=$((passed + 1)); else result="FAILED (exit $status)"; failed=$((failed + 1)); fi
    printf '%-22s %10s %8.1f %8s %7s %6s %7s %7s %8s  %s\n' "$t" "${executions:-?}" "$seconds" "$rate" "${corpus:-?}" "${cov:-?}" "${ft:-?}" "$new_ft" "$crashes" "$result"
    if [ "$result" != ok ]; then
        crash_lines+=("$t: log $log")
        for a in $artifacts; do
            crash_lines+=("  artifact: $a")
            crash_lines+=("    reproduce: $bin/$t $a")
            crash_lines+=("    minimise:  $bin/$t -minimize_crash=1 -runs=100000 -exact_artifact_path=$a.min $a")
        done
    fi
done
printf '\nbuild: %.0f s (%s); total: %.0f s\n' "$build_seconds" "$configuration" "$(elapsed "$build_start")"
if [ ${#crash_lines[@]} -gt 0 ]; then
    echo
    for l in "${crash_lines[@]}"; do echo "$l"; done
    for t in "${targets[@]}"; do
        log=$run_dir/logs/$t.log
        read -r status _ < "$run_dir/logs/$t.status"
        [ "$status" -ne 0 ] || continue
        echo "--- $t: the failure, from $log"
        grep -E -m1 -B2 -A25 '==ERROR|Fatal error|fuzz invariant violated|ALARM|out-of-memory|deadly signal' "$log" | head -40 || true
    done
fi
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -eq "${#targets[@]}" ]
