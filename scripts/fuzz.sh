#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, ASan + UBSan) in build-fuzz/, runs every file of
# fuzz/corpus/<target>/ once through its target (the regression check), then fuzzes each target
# for SECONDS_PER_TARGET seconds, one after the other, from a copy of its corpus (the repository's
# corpus is not grown; new inputs stay in build-fuzz/fuzz-work/<target>/corpus).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default 10 s, every target)
#
# Prints one line per target ("fuzz yaml_plan: 12345 inputs in 10 s, 0 crashes") and exits
# non-zero when an input crashed, hung or ran out of memory, naming the file libFuzzer saved it
# in. FUZZ_JOBS (default 2) sets the build's parallelism; FUZZ_BUILD_DIR the build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-10}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${FUZZ_JOBS:-2}
all_targets=(yaml_plan pth jpeg idx cifar10 feature_cache image_cache checkpoint)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

if [ ! -f "$build/build.ninja" ]; then
  mkdir -p "$build"
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTLR_BUILD_FUZZERS=ON -DTLR_BUILD_TESTS=OFF -DTLR_BUILD_BENCHMARKS=OFF -DTLR_INSTALL=OFF \
    >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 1
  }
fi
cmake --build "$build" --target "${targets[@]/#/fuzz_}" -j "$jobs"

# Leaks are not findings here: libtorch and OpenCV keep allocations for the life of the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1:handle_abort=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$build/fuzz-work
failed=0
# The targets' scratch files (fuzz/fuzz_support.h), on tmpfs when there is one; removed at exit.
shm=/dev/shm
[ -w "$shm" ] || shm=${TMPDIR:-/tmp}
TLR_FUZZ_SCRATCH=$(mktemp -d "$shm/tlr-fuzz-run.XXXXXX")
export TLR_FUZZ_SCRATCH
trap 'rm -rf "$TLR_FUZZ_SCRATCH"' EXIT

# 1. Regression: every corpus file once.
for t in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$t
  mkdir -p "$work/$t"
  log=$work/$t/regression.log
  if ! "$exe" -rss_limit_mb=2048 -timeout=10 "$root/fuzz/corpus/$t"/* >"$log" 2>&1; then
    echo "fuzz $t: regression FAILED on $(grep -o 'Running: .*' "$log" | tail -1 | cut -c10-)"
    grep -E 'ERROR|SUMMARY|runtime error|terminate|what\(\)' "$log" | head -5 | sed 's/^/  /'
    echo "  log: $log"
    failed=1
  else
    echo "fuzz $t: regression ok ($(ls "$root/fuzz/corpus/$t" | wc -l) corpus files)"
  fi
done

# 2. Fuzzing, one target at a time.
for t in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$t
  dir=$work/$t
  rm -rf "$dir/corpus" "$dir/artifacts"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$root/fuzz/corpus/$t"/* "$dir/corpus/"
  log=$dir/fuzz.log
  start=$(date +%s)
  status=0
  "$exe" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - start))
  units=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  mapfile -t found < <(find "$dir/artifacts" -type f | sort)
  echo "fuzz $t: ${units:-?} inputs in $elapsed s, ${#found[@]} crashes"
  if [ "${#found[@]}" -gt 0 ] || [ "$status" -ne 0 ]; then
    failed=1
    grep -E 'ERROR|SUMMARY|runtime error|terminate|what\(\)' "$log" | head -5 | sed 's/^/  /'
    for f in "${found[@]}"; do echo "  crash file: $f"; done
    echo "  log: $log (reproduce: $exe <crash file>)"
  fi
done
exit "$failed"
