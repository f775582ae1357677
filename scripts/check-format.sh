#!/usr/bin/env bash
# Fails (listing the places) when a C++ source of the project is not formatted as .clang-format
# says. Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files() { git ls-files '*.cpp' '*.h'; }
else
  files() { find runner plugins tests bench examples -name '*.cpp' -o -name '*.h'; }
fi
if [ "${1:-}" = "--fix" ]; then
  files | xargs clang-format -i
  exit 0
fi
if ! files | xargs clang-format --dry-run -Werror; then
  echo "check-format: the files above are not formatted; run scripts/check-format.sh --fix" >&2
  exit 1
fi
echo "check-format: $(files | wc -l) files formatted"
