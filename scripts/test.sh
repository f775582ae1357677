#!/usr/bin/env bash
# Sets up, builds, checks the formatting (scripts/check-format.sh), and runs the whole test
# suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/check-format.sh
ctest --test-dir build --output-on-failure -j "$(nproc)" "$@"
