#!/bin/bash
# experiments/five_models.yaml end to end: the runner (cold, then warm) against the same five
# models in plain PyTorch (five_models.py, Debian's python3-torch), same data, epochs and threads:
# once in fp32 and once with bf16 autocast (torch.autocast("cpu", torch.bfloat16)).
# Early stopping is turned off in the runner (*.training.early_stopping.patience=0) and
# five_models.py has none, so both sides train every model for exactly its epochs.
#
# Usage: bench/five_models/run.sh [BUILD_DIR] [options]        (BUILD_DIR default: build/)
#   --threads N        libtorch threads on both sides (runner --threads, torch.set_num_threads);
#                      default 2
#   --quick            smoke test: every model 1 epoch, 20/10/20 images per class
#   --epochs N         every model N epochs
#   --epochs-scale F   every model round(F x its epochs), at least 1
#   --per-class T,V,E  train/val/test images per class for every model (default: the YAML's)
#   --workers N        DataLoader worker processes of the Python augmented models (default 0)
#   --keep DIR         work in DIR (results, logs) and keep it; default: a temporary folder
#   --precision P      the runner's --precision: fp32, bf16 or auto (default auto: bf16 only where
#                      the CPU has native bf16, so fp32 on an AVX2-only CPU)
#   --no-python-bf16   skip the bf16-autocast Python run (emulated bf16 is many times slower than
#                      fp32 on a CPU without AVX512_BF16/AMX: the longest part of the benchmark)
# Prints a table: per model the runner's seconds (results.db run_summary.wall_seconds, cold and
# warm), the Python seconds (fp32, and bf16 autocast), the ratios and the test accuracies; then the
# totals, and the end-to-end cold ratio against both Python runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$repo/build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then build=$1; shift; fi
threads=2 epochs="" scale="" per_class="" workers=0 keep="" precision=auto python_bf16=1
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --quick) epochs=1; per_class=20,10,20; shift ;;
    --epochs) epochs=$2; shift 2 ;;
    --epochs-scale) scale=$2; shift 2 ;;
    --per-class) per_class=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --no-python-bf16) python_bf16=0; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case $precision in
  fp32|bf16|auto) ;;
  *) echo "run.sh: --precision is fp32, bf16 or auto, not '$precision'" >&2; exit 2 ;;
esac
if [ -n "$epochs" ] && [ -n "$scale" ]; then
  echo "run.sh: give --epochs or --epochs-scale, not both" >&2; exit 2
fi
runner=$build/bin/runner
python=/usr/bin/python3
yaml=$repo/experiments/five_models.yaml
[ -x "$runner" ] || { echo "run.sh: no runner at $runner" >&2; exit 2; }
"$python" -c 'import torch, torchvision' 2>/dev/null ||
  { echo "run.sh: $python has no torch/torchvision (apt install python3-torchvision)" >&2; exit 2; }

if [ -n "$keep" ]; then
  work=$keep
  rm -rf "$work/results"
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/five_models_bench.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
results=$work/results
db=$results/results.db

# One run per model: the Python side trains each model once (the file's replicates multiply both).
sets=(--set '*.training.early_stopping.patience=0' --set 'replicates=1' --precision "$precision")
if [ -n "$per_class" ]; then
  IFS=, read -r t v e <<<"$per_class"
  sets+=(--set "*.data.split.per_class={train: $t, val: $v, test: $e}")
fi
[ -n "$epochs" ] && sets+=(--set "*.training.epochs=$epochs")
if [ -n "$scale" ]; then
  "$runner" run "$yaml" --dry-run "${sets[@]}" >"$work/dry_run_base.txt"
  "$python" "$here/compare.py" plan "$work/dry_run_base.txt" "$work/plan_base.json"
  for item in $("$python" "$here/compare.py" epochs "$work/plan_base.json"); do
    name=${item%%=*}
    n=$(awk -v e="${item#*=}" -v f="$scale" 'BEGIN { n = int(e * f + 0.5); print n < 1 ? 1 : n }')
    sets+=(--set "models.$name.training.epochs=$n")
  done
fi

# What the runner will run, resolved; the Python side gets the same epochs and per-class counts.
"$runner" run "$yaml" --dry-run "${sets[@]}" >"$work/dry_run.txt"
"$python" "$here/compare.py" plan "$work/dry_run.txt" "$work/plan.json"
"$python" "$here/five_models.py" --print-config >"$work/python_config.json"
read -r -a py_args <<<"$("$python" "$here/compare.py" python-args "$work/plan.json" \
                                   "$work/python_config.json")"
echo "epochs: $("$python" "$here/compare.py" epochs "$work/plan.json")"
python_sides="fp32 and bf16 autocast"
((python_bf16)) || python_sides="fp32 (bf16 skipped: --no-python-bf16)"
echo "threads: $threads; runner --precision $precision; Python $python_sides; work folder: $work"

now() { date +%s.%N; }
run_runner() {  # $1: cold|warm
  echo "runner ($1)..." >&2
  local start end rerun=()
  # Warm: the source stage is skipped (its identical run completed, its weights are published) and
  # the five compared models train again (--rerun) on the cached images and features.
  [ "$1" = warm ] && rerun=(--rerun basic_cnn basic_cnn_aug vgg_features vgg_frozen_aug vgg_fine_tune)
  start=$(now)
  "$runner" run "$yaml" "${sets[@]}" --threads "$threads" --results "$results" --db "$db" \
    "${rerun[@]}" >"$work/runner_$1.out" 2>"$work/runner_$1.log" ||
    { echo "run.sh: the runner failed ($1); see $work/runner_$1.log" >&2; tail -5 "$work/runner_$1.log" >&2; }
  end=$(now)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}
cold=$(run_runner cold)
warm=$(run_runner warm)

run_python() {  # $1: fp32|bf16; $2: the output's name (python, python_bf16); the rest: arguments
  local p=$1 out=$2 start end
  shift 2
  echo "python ($p)..." >&2
  start=$(now)
  "$python" "$here/five_models.py" --threads "$threads" --workers "$workers" "${py_args[@]}" \
    --precision "$p" "$@" >"$work/$out.out" 2>"$work/$out.log" ||
    { echo "run.sh: five_models.py --precision $p failed; see $work/$out.log" >&2
      tail -5 "$work/$out.log" >&2; }
  end=$(now)
  awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }'
}
py_wall=$(run_python fp32 python --write-splits "$work/python_splits.json")
wall="cold=$cold,warm=$warm,python=$py_wall"
bf16_args=()
if ((python_bf16)); then
  wall+=",python_bf16=$(run_python bf16 python_bf16)"
  bf16_args=(--python-bf16-out "$work/python_bf16.out")
fi

echo
"$python" "$here/compare.py" report --db "$db" --results "$results" \
  --python-out "$work/python.out" --python-splits "$work/python_splits.json" "${bf16_args[@]}" \
  --wall "$wall" --threads "$threads" --precision "$precision"
