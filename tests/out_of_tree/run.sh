#!/usr/bin/env bash
# Usage: run.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$src/examples/my_backbone" -B "$work/plugin" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/plugin" >/dev/null
test -f "$work/plugin/libmy_backbone.so"

runner="$work/prefix/bin/runner"
described=$("$runner" plugins two_block_net --plugin-path "$work/plugin")
echo "$described"
grep -q "backbone two_block_net  (plugin my_backbone 1.0.0" <<<"$described"
grep -q "width .*default 16" <<<"$described"

TLR_PLUGIN_PATH="$work/plugin" "$runner" "$src/tests/out_of_tree/experiment.yaml" \
    --db "$work/results.db" --results "$work/results" --threads 2 --quiet
status=$(sqlite3 "$work/results.db" "SELECT status FROM runs WHERE model = 'two_block'")
echo "run status: $status"
test "$status" = completed
