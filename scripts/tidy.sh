#!/bin/bash
# clang-tidy over the project's own sources with the checks in .clang-tidy (bugs, performance).
# Usage: scripts/tidy.sh [BUILD_DIR] [-j N] [FILE_REGEX...]
#   BUILD_DIR   a configured build (default build/; scripts/build.sh makes one)
#   -j N        parallel clang-tidy processes (default: the number of cores)
#   FILE_REGEX  only the translation units whose path matches (default: every one of ours)
# Exits non-zero on any finding. The compile database is copied without the precompiled-header
# flags (GCC's .gch is not readable by clang).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$repo/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ] && [ -d "$1" ]; then build=$(cd "$1" && pwd); shift; fi
jobs=$(nproc)
if [ "${1:-}" = "-j" ]; then jobs=$2; shift 2; fi
[ -f "$build/compile_commands.json" ] ||
  { echo "tidy.sh: no $build/compile_commands.json; run scripts/build.sh first" >&2; exit 2; }
command -v run-clang-tidy >/dev/null ||
  { echo "tidy.sh: run-clang-tidy not found (apt install clang-tidy)" >&2; exit 2; }

db=$build/tidy
mkdir -p "$db"
python3 - "$build/compile_commands.json" "$db/compile_commands.json" "$repo" <<'PY'
import json, re, sys
source, target, repo = sys.argv[1:]
entries = []
for entry in json.load(open(source)):
    if not entry["file"].startswith(repo + "/") or "/build" in entry["file"][len(repo):]:
        continue
    command = re.sub(r" -include \S+cmake_pch\.hxx", "", entry["command"])
    entry["command"] = command.replace(" -Winvalid-pch", "")
    entries.append(entry)
json.dump(entries, open(target, "w"), indent=1)
PY
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$repo/(runner|plugins|tests|bench|examples)/")
run-clang-tidy -quiet -p "$db" -j "$jobs" "${files[@]}"
