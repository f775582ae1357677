#!/usr/bin/env bash
# Installs what is missing (scripts/setup.sh), then configures and builds tlr in build/ (Release,
# Ninja, ccache, a precompiled libtorch header). Incremental: a second call rebuilds only changes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLR_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build build -j "$(nproc)"
