#!/bin/bash
# `runner run --jobs N` against `--jobs 1` on the same file, same total threads, both cold (fresh
# results folder and database, so nothing is skipped and no cache is warm). Rounds alternate the
# order of the two sides, so a machine that slows down over time does not favour one.
#
# Usage: bench/parallel_cells/run.sh [BUILD_DIR] [options]     (BUILD_DIR default: build/)
#   --file FILE      the experiment (default experiments/five_models_by_size.yaml)
#   --threads N      the whole run's libtorch threads (default 2: each of 2 jobs gets 1)
#   --jobs N         the parallel side (default 2)
#   --rounds R       rounds of (sequential, parallel) pairs, order alternating (default 1)
#   --set PATH=VALUE passed to both sides (repeatable), e.g. '*.training.epochs=2' for a smoke test
#   --keep DIR       work in DIR and keep it; default: a temporary folder
# Prints each side's wall time, the ratio sequential / parallel, and whether every model completed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
# One replicate per cell by default (the figures in README were measured so); --set replicates=3
# gives the file's own count.
file=experiments/five_models_by_size.yaml threads=2 jobs=2 rounds=1 keep="" sets=(--set replicates=1)
while [ $# -gt 0 ]; do
  case $1 in
    --file) file=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
runner=$build/bin/runner
[ -x "$runner" ] || { echo "run.sh: $runner not built (scripts/build.sh)" >&2; exit 2; }
work=${keep:-$(mktemp -d)}
mkdir -p "$work"
[ -n "$keep" ] || trap 'rm -rf "$work"' EXIT
cd "$repo"

# One cold run: prints its wall seconds; fails unless every model completed.
side() {
  local name=$1 n=$2
  local dir=$work/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  local start end
  start=$(date +%s.%N)
  "$runner" run "$file" "${sets[@]}" --db "$dir/results.db" --results "$dir/results" \
    --threads "$threads" --jobs "$n" --quiet > "$dir/table.txt" 2> "$dir/stderr.txt" || {
    echo "run.sh: the $name side failed; see $dir/stderr.txt" >&2; exit 1; }
  end=$(date +%s.%N)
  local incomplete
  incomplete=$(sqlite3 "$dir/results.db" "SELECT count(*) FROM runs WHERE status != 'completed'")
  [ "$incomplete" = 0 ] || { echo "run.sh: $incomplete runs of the $name side did not complete" >&2; exit 1; }
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}

echo "file $file, $threads threads in all; sequential = --jobs 1, parallel = --jobs $jobs"
seq_total=0 par_total=0
for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    s=$(side sequential 1); p=$(side parallel "$jobs")
  else
    p=$(side parallel "$jobs"); s=$(side sequential 1)
  fi
  printf 'round %d: sequential %.1f s, parallel %.1f s, ratio %.2fx\n' "$round" "$s" "$p" \
    "$(awk -v a="$s" -v b="$p" 'BEGIN { print a / b }')"
  seq_total=$(awk -v a="$seq_total" -v b="$s" 'BEGIN { print a + b }')
  par_total=$(awk -v a="$par_total" -v b="$p" 'BEGIN { print a + b }')
done
printf 'total: sequential %.1f s, parallel %.1f s: --jobs %d is %.2fx faster\n' "$seq_total" \
  "$par_total" "$jobs" "$(awk -v a="$seq_total" -v b="$par_total" 'BEGIN { print a / b }')"
