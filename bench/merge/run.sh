#!/bin/bash
# "Scale, simulated": 1,000 result shards as 1,000 Slurm tasks of `runner submit` would leave
# them, merged into one results.db, then `runner status` and `runner submit --dry-run` at that
# scale. Nothing is trained: the shards are written by make_shards.py (see README.md).
#
# Usage: bench/merge/run.sh [WORKDIR]
#   WORKDIR  where everything is written (default: a fresh temporary folder, removed at the end
#            unless KEEP=1); a WORKDIR given must be empty or an earlier run's, and is kept
# Environment: RUNNER (default build/bin/runner), CELLS (default 1000, at most 1000: the
# schema's replicates maximum), KEEP=1, ULIMIT_CHECK=0 (skip the merge under ulimit -n 1024).
# Prints one line per measure with its goal and PASS/FAIL; exits 1 if a check (counts, states,
# idempotence) fails; a timing over its goal is reported but does not fail the script.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
runner=${RUNNER:-$repo/build/bin/runner}
cells=${CELLS:-1000}
python=/usr/bin/python3
[ -x "$runner" ] || { echo "run.sh: $runner not built" >&2; exit 2; }
command -v sqlite3 > /dev/null || { echo "run.sh: needs the sqlite3 shell (apt install sqlite3)" >&2; exit 2; }

if [ $# -gt 0 ]; then
  work=$1
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  # Only an empty folder or one an earlier run of this script used: it removes what it wrote.
  if [ -n "$(ls -A "$work")" ] && [ ! -f "$work/.bench-merge" ]; then
    echo "run.sh: $work is not empty and not a bench/merge work folder; give a new one" >&2
    exit 2
  fi
  touch "$work/.bench-merge"
else
  work=$(mktemp -d /tmp/tlr-bench-merge.XXXXXX)
  [ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
fi
# What an earlier run in the same WORKDIR left.
rm -rf "$work"/results "$work"/results2 "$work"/none "$work"/*.db "$work"/*.db-wal \
  "$work"/*.db-shm "$work"/*.out "$work"/*.err "$work"/*.json "$work"/*.rss

failures=0
check() {  # check CONDITION-TEXT OK(0/1): a failed check is counted and reported
  if [ "$2" != 0 ]; then echo "CHECK FAILED: $1" >&2; failures=$((failures + 1)); fi
}
now() { date +%s.%N; }
seconds() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f", e - s }'; }
verdict() {  # verdict LABEL SECONDS GOAL
  local ok
  ok=$(awk -v t="$2" -v g="$3" 'BEGIN { print (t <= g) ? "PASS" : "FAIL" }')
  printf '%-38s %6.2f s (goal <= %s s) %s\n' "$1:" "$2" "$3" "$ok"
}
count() { sqlite3 "$1" "SELECT count(*) FROM $2"; }

echo "bench/merge: $cells cells in $work; runner $runner"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The experiment file: experiments/five_models.yaml reduced to its basic_cnn model with CELLS
# replicates (cells basic_cnn#1 ... basic_cnn#CELLS), comments and blocks kept, so that the YAML
# each experiments row records has the real file's size (~4.6 KB).
file=$work/merge_bench.yaml
{
  echo "# bench/merge/run.sh: experiments/five_models.yaml reduced to basic_cnn, $cells replicates"
  awk -v n="$cells" '
    /^models:/ { print; in_models = 1; next }
    in_models && /^  - name: / { keep = ($3 == "basic_cnn") }
    in_models { if (keep && $1 != "#") print; next }
    /^experiment: / { print "experiment: merge_bench"; next }
    /^replicates: / { print "replicates: " n; next }
    { print }' "$repo/experiments/five_models.yaml"
} > "$file"
grep -q '^replicates: '"$cells"'$' "$file" && [ "$(grep -c '^  - name: ' "$file")" = 1 ] || {
  echo "run.sh: could not derive $file from experiments/five_models.yaml" >&2; exit 1; }
"$runner" validate "$file" > "$work/validate.out" 2>&1 || {
  cat "$work/validate.out" >&2; echo "run.sh: the experiment file does not validate" >&2; exit 1; }

# 2. The cells' real identities: status over an empty database (timed too).
t0=$(now)
"$runner" status "$file" --format json --db "$work/empty.db" --results "$work/results" \
  > "$work/cells.json" 2> "$work/status-empty.err" || {
  cat "$work/status-empty.err" >&2; echo "run.sh: runner status failed" >&2; exit 1; }
t1=$(now)
t_status_empty=$(seconds "$t0" "$t1")
read -r n_cells n_pending n_ids < <("$python" -c '
import json, sys
cells = json.load(open(sys.argv[1]))
print(len(cells), sum(c["state"] == "pending" for c in cells),
      len({c["identity"] for c in cells if c["identity"]}))' "$work/cells.json")
check "status over an empty db: $n_cells cells, $n_pending pending, $n_ids identities (expected $cells each)" \
  "$([ "$n_cells" = "$cells" ] && [ "$n_pending" = "$cells" ] && [ "$n_ids" = "$cells" ]; echo $?)"

# 3. The shards. The schema comes from the runner: a merge of no shards creates an empty
# results database at its latest schema.
mkdir -p "$work/none"
"$runner" merge --into "$work/template.db" --results "$work/none" > "$work/template.out"
schema=$(sqlite3 "$work/template.db" "PRAGMA user_version")
tables=$(sqlite3 "$work/template.db" "SELECT count(*) FROM sqlite_master WHERE type = 'table'")
check "template.db: schema version $schema, $tables tables" \
  "$([ "$schema" -ge 5 ] && [ "$tables" -ge 10 ]; echo $?)"
shards=$work/results/merge_bench/shards
t0=$(now)
"$python" "$here/make_shards.py" "$work/template.db" "$work/cells.json" "$file" "$shards" \
  > "$work/make_shards.out"
t1=$(now)
t_generate=$(seconds "$t0" "$t1")
n_files=$(find "$shards" -name '*.db' | wc -l)
check "$n_files shard files (expected $cells)" "$([ "$n_files" = "$cells" ]; echo $?)"
shards_mb=$(du -sm "$shards" | cut -f1)

# 4a. The merge.
db=$work/results.db
t0=$(now)
/usr/bin/time -o "$work/merge1.rss" -f %M \
  "$runner" merge "$shards" --into "$db" > "$work/merge1.out" 2> "$work/merge1.err" || {
  cat "$work/merge1.err" >&2; echo "run.sh: runner merge failed" >&2; exit 1; }
t1=$(now)
t_merge=$(seconds "$t0" "$t1")
merge1=$(cat "$work/merge1.out")
expected1="$cells shards: $cells added, 0 updated ($cells completed), 0 unchanged, 0 already completed here as other runs"
check "first merge printed '${merge1#*: *: }', expected '$expected1'" \
  "$(case $merge1 in *": $expected1") echo 0 ;; *) echo 1 ;; esac)"
tables="experiments runs epochs metrics confusion predictions artifacts run_plugins experiment_runs"
declare -A rows expected=(
  [experiments]=$cells [runs]=$cells [epochs]=$((cells * 100)) [metrics]=$((cells * 50))
  [confusion]=$((cells * 100)) [predictions]=$((cells * 1000)) [artifacts]=$cells
  [run_plugins]=$((cells * 5)) [experiment_runs]=$cells)
for table in $tables; do
  rows[$table]=$(count "$db" "$table")
  check "merged $table: ${rows[$table]} rows, expected ${expected[$table]}" \
    "$([ "${rows[$table]}" = "${expected[$table]}" ]; echo $?)"
done
integrity=$(sqlite3 "$db" "PRAGMA foreign_key_check" | wc -l)
check "merged db: $integrity foreign key violations" "$([ "$integrity" = 0 ]; echo $?)"

# 4b. The same merge again: nothing added, every run unchanged.
t0=$(now)
"$runner" merge "$shards" --into "$db" > "$work/merge2.out" 2> "$work/merge2.err" || {
  cat "$work/merge2.err" >&2; echo "run.sh: the second runner merge failed" >&2; exit 1; }
t1=$(now)
t_merge2=$(seconds "$t0" "$t1")
merge2=$(cat "$work/merge2.out")
check "second merge printed '${merge2#*: *: }', expected 0 added, 0 updated, $cells unchanged" \
  "$(case $merge2 in *": $cells shards: 0 added, 0 updated, $cells unchanged, 0 already"*) echo 0 ;; *) echo 1 ;; esac)"
for table in $tables; do
  again=$(count "$db" "$table")
  check "after the second merge $table has $again rows, ${rows[$table]} before" \
    "$([ "$again" = "${rows[$table]}" ]; echo $?)"
done
merge_rss_mb=$(awk -v k="$(tail -n1 "$work/merge1.rss")" 'BEGIN { printf "%.0f", k / 1024 }')
db_mb=$(awk -v b="$(stat -c %s "$db")" 'BEGIN { printf "%.0f", b / 1048576 }')

# 4c. Status over the merged database: every cell completed.
t0=$(now)
"$runner" status "$file" --format json --db "$db" --results "$work/results" \
  > "$work/status.json" 2> "$work/status.err" || {
  cat "$work/status.err" >&2; echo "run.sh: runner status failed" >&2; exit 1; }
t1=$(now)
t_status=$(seconds "$t0" "$t1")
n_completed=$("$python" -c '
import json, sys
print(sum(c["state"] == "completed" and c["run"] is not None
          for c in json.load(open(sys.argv[1]))))' "$work/status.json")
check "status over the merged db: $n_completed of $cells completed" \
  "$([ "$n_completed" = "$cells" ]; echo $?)"

# 4d. submit --dry-run into a fresh results folder: every cell pending, its scripts written.
t0=$(now)
"$runner" submit "$file" --dry-run --results "$work/results2" --db "$work/results2.db" \
  > "$work/submit.out" 2> "$work/submit.err" || {
  cat "$work/submit.err" >&2; echo "run.sh: runner submit --dry-run failed" >&2; exit 1; }
t1=$(now)
t_submit=$(seconds "$t0" "$t1")
slurm=$work/results2/merge_bench/slurm
check "submit --dry-run: '$(tail -n1 "$work/submit.err")', expected $cells models, 0 completed" \
  "$(grep -q "dry run: $cells models in .* (0 completed already)" "$work/submit.err"; echo $?)"
check "submit --dry-run wrote $slurm/array-1.sh (--array=0-$((cells - 1))) and merge.sh" \
  "$([ -x "$slurm/merge.sh" ] && grep -q -- "--array=0-$((cells - 1))\$" "$slurm/array-1.sh"; echo $?)"

echo
echo "generate $cells shards (not measured): $t_generate s, $shards_mb MB"
printf '%-38s %6.2f s (no goal; the identities for the shards)\n' \
  "status, empty db ($cells pending):" "$t_status_empty"
verdict "merge $cells shards" "$t_merge" 30
printf '%-38s %6.2f s (goal: adds nothing) %s\n' "merge again:" "$t_merge2" \
  "$(case $merge2 in *": $cells shards: 0 added, 0 updated, $cells unchanged, 0 already"*) echo PASS ;; *) echo FAIL ;; esac)"
verdict "status, merged db ($n_completed completed)" "$t_status" 1
verdict "submit --dry-run ($cells pending)" "$t_submit" 5
echo "merged db: $db_mb MB; runs ${rows[runs]}, predictions ${rows[predictions]}, epochs ${rows[epochs]}, metrics ${rows[metrics]}, confusion ${rows[confusion]}"
echo "first merge:  ${merge1#*: *: }; peak RSS $merge_rss_mb MB"
echo "second merge: ${merge2#*: *: }"
# Not a check: the same merge with 1024 open files allowed, a common default soft limit
# (`runner merge` keeps every shard open until it commits). ULIMIT_CHECK=0 skips it.
if [ "${ULIMIT_CHECK:-1}" = 1 ]; then
  if (ulimit -n 1024 && "$runner" merge "$shards" --into "$work/ulimit.db" \
        > "$work/ulimit.out" 2> "$work/ulimit.err"); then
    echo "merge under ulimit -n 1024: ok"
  else
    echo "merge under ulimit -n 1024: failed: $(head -n1 "$work/ulimit.err")"
  fi
fi
if [ "$failures" -gt 0 ]; then
  echo "run.sh: $failures checks failed (see above)" >&2
  exit 1
fi
echo "all checks passed (load average now $(cut -d" " -f1-3 /proc/loadavg))"
