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
cmake -S "$src/examples/my_head" -B "$work/head" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/head" >/dev/null
test -f "$work/head/libmy_head.so"

runner="$work/prefix/bin/runner"
described=$("$runner" plugins two_block_net --plugin-path "$work/plugin")
echo "$described"
grep -q "backbone two_block_net  (plugin my_backbone 1.0.0" <<<"$described"
grep -q "width .*default 16" <<<"$described"
described=$("$runner" plugins small_dense --plugin-path "$work/head")
echo "$described"
grep -q "head small_dense  (plugin my_head 1.0.0" <<<"$described"
grep -q "hidden .*default 64" <<<"$described"

TLR_PLUGIN_PATH="$work/plugin:$work/head" "$runner" "$src/tests/out_of_tree/experiment.yaml" \
    --db "$work/results.db" --results "$work/results" --threads 2 --quiet
status=$(sqlite3 "$work/results.db" "SELECT status FROM runs WHERE model = 'two_block'")
echo "run status: $status"
test "$status" = completed
head=$(sqlite3 "$work/results.db" \
       "SELECT json_extract(config_json, '\$.head.plugin') || ' ' ||
               json_extract(config_json, '\$.head.params.hidden') || ' ' ||
               json_extract(config_json, '\$.head.params.dropout')
          FROM runs WHERE model = 'two_block'")
echo "head: $head"
test "$head" = "small_dense 16 0.2"
