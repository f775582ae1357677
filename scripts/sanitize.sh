#!/usr/bin/env bash
# Builds tlr with AddressSanitizer + UndefinedBehaviorSanitizer (-DTLR_SANITIZE=ON) in build-asan/
# and runs the test suite under them. A finding fails the test that hit it: the process stops at
# the first report (halt_on_error, abort_on_error; -fno-sanitize-recover=undefined at build time).
#
# Usage: scripts/sanitize.sh [--quick] [ctest args...]
#   --quick   a fast subset for CI: builds only the targets it needs and runs the unit tests of
#             config, store, weights, loader/datasets, stats and use, and a few end-to-end tests
#             of the runner (QUICK_* below).
#   Other arguments go to ctest (e.g. -R StoreTest); --output-on-failure is always on.
# Environment: JOBS (default: nproc), BUILD_DIR (default: build-asan).
#
# libtorch, OpenCV, SQLite and Python are not instrumented; only project code is checked. What is
# left out or suppressed, and why, is written next to it below and in scripts/sanitizers/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
if [ "${1:-}" = "--quick" ]; then
  quick=1
  shift
fi
jobs=${JOBS:-$(nproc)}
build=${BUILD_DIR:-build-asan}

# The test executables of --quick (and what they need: the runner and the bundled plugins come
# with e2e_test and use_test), and the GoogleTest suites run from them.
QUICK_TARGETS=(runner config_test store_test weights_test image_batches_test feature_batches_test
               datasets_test stats_test use_test e2e_test)
QUICK_SUITES=(ConfigTest
              StoreSchema StoreRuns StoreEpochs StoreViews StoreResults StoreWal StoreStatus
              StoreCells StoreFileHashes StoreConcurrency MergeTest Sha256
              Weights
              InputSpec ImageBatches Numbered SplitImages SplitImagesCache TensorBatches
              FeatureCacheTest
              ImageFolderTest FilenameLabelsTest IdxTest IdxFashionMnist Cifar10Test ImageFile
              Bundled/DatasetSchemaTest
              McNemarExact IncompleteBeta StudentT Wilson TInterval Holm CompareModels
              TrainedModels)
# End-to-end: the runner's command line, a failed model among trained ones, Ctrl-C, a kill.
QUICK_E2E=(E2eCli.UnknownKeyIsOneCompilerStyleLineAndExit2
           E2eCli.FailedModelIsRecordedAndTheOthersComplete
           E2eCli.CtrlCRecordsTheRunAsInterruptedAndExits130
           E2eCli.KilledRunnerLeavesARunningRowThatTheNextRunnerMarksInterrupted)

scripts/setup.sh >/dev/null

# -O1 -g1: line tables are enough for symbolized reports, and both build faster than
# RelWithDebInfo's -O2 -g (libtorch's headers make full debug info large and slow to link).
# NDEBUG as in the Release build, so that the code checked is the code that ships.
start=$(date +%s)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DTLR_SANITIZE=ON -DTLR_WARNINGS_AS_ERRORS=ON -DTLR_BUILD_BENCHMARKS=OFF >/dev/null
if [ $quick -eq 1 ]; then
  cmake --build "$build" -j "$jobs" --target "${QUICK_TARGETS[@]}"
else
  cmake --build "$build" -j "$jobs"
fi
echo "sanitize: build took $(($(date +%s) - start)) s"

supp=$root/scripts/sanitizers
# Children inherit these: the runner the end-to-end tests start, and the uninstrumented tools
# (python3, sqlite3, cmake), which ignore them.
asan=(
  halt_on_error=1 abort_on_error=1 # stop at the first report, with a core-dump-free SIGABRT
  detect_leaks=1
  detect_stack_use_after_return=1
  check_initialization_order=1 strict_init_order=1
  strict_string_checks=1
  print_summary=1
)
# Reports go to files of $logs (<asan|ubsan>.<exe>.<pid>), not stderr: a runner a test starts
# may fail in a way the test does not look at (a killed or expected-to-fail run), and its report
# would be lost with its stderr. Any file there fails this script, after ctest, which prints it.
logs=$(cd "$build" && pwd)/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
asan+=(log_path="$logs/asan" log_exe_name=1)
ASAN_OPTIONS=$(IFS=:; echo "${asan[*]}")
export ASAN_OPTIONS
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan:log_exe_name=1"

ctest_args=(--test-dir "$build" --output-on-failure -j "$jobs")
# Left out of every sanitized run (a ctest -E given on the command line replaces this):
#   OutOfTree.RelocatedInstallRunsWithoutTheCheckout checks with `strings` that the installed
#   binaries carry no path of the checkout; a sanitized build carries it by design (the
#   build folder in the -g1 line tables that symbolize reports; without ccache's relative paths
#   also the source locations UBSan and ASan record), so it would fail on every build.
ctest_args+=(-E '^OutOfTree\.RelocatedInstallRunsWithoutTheCheckout$')
if [ $quick -eq 1 ]; then
  regex="^(($(IFS='|'; echo "${QUICK_SUITES[*]}"))\\..*|$(IFS='|'; echo "${QUICK_E2E[*]}"))\$"
  ctest_args+=(-R "$regex")
fi
start=$(date +%s)
status=0
ctest "${ctest_args[@]}" "$@" || status=$?
echo "sanitize: tests took $(($(date +%s) - start)) s"
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  for report in $reports; do
    echo "=== $report"
    cat "$report"
  done
  echo "sanitize: $(wc -l <<<"$reports") sanitizer report(s) in $logs" >&2
  [ $status -ne 0 ] || status=1
fi
exit $status
