#!/bin/sh
# `runner predict` against a plain PyTorch inference loop (predict_torch.py: the exported model
# rebuilt with torch.nn, torchvision's Resize/ToTensor/Normalize, a DataLoader with THREADS
# worker processes), on the same model, the same JPEGs, the same libtorch and thread count, the
# same batch, in fp32 and in bf16 (the runner's --precision bf16 against torch.autocast).
#
# Two models of experiments/cats_vs_dogs_vgg16.yaml at 150x150 RGB (bench/predict/models.yaml,
# trained one epoch on a few synthetic photos): the basic CNN, where decoding dominates, and
# VGG16 with a fine-tuned top, where the convolutions do. IMAGES synthetic 500x375 JPEGs (the size
# of a cats-vs-dogs photo) are classified. Per round, per model and precision, the runner then
# Python; each side's best round counts. For reference, Python fp32 also runs with glibc's malloc
# told to keep freed blocks (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge; bench/models
# explains why that matters).
#
# img/s on both sides counts from the first image decoded to the last probabilities (model
# loading excluded); "wall" is the whole command, process start and model loading included.
#   bench/predict/run.sh [BUILD_DIR] [THREADS] [IMAGES] [ROUNDS] [BATCH]
#   defaults: build 2 256 2 32 (about 5 minutes on 2 cores with native bf16)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
threads=${2:-2}
images=${3:-256}
rounds=${4:-2}
batch=${5:-32}
runner=$build/bin/runner
python=/usr/bin/python3
[ -x "$runner" ] || { echo "run.sh: no runner at $runner" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tlr_predict_bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
results=$work/results
db=$results/results.db
times=$work/times

"$python" "$here/make_images.py" "$work/images" 8 "$images"
"$runner" run "$here/models.yaml" --results "$results" --db "$db" --threads "$threads" \
  --set "defaults.data.dataset.params.root=$work/images/train" >"$work/train.log" 2>&1 ||
  { cat "$work/train.log" >&2; exit 1; }
models="basic_cnn vgg16_fine_tune"
for m in $models; do
  "$runner" export --experiment predict_bench --model "$m" --results "$results" --db "$db" \
    --out "$work/$m.pth" >/dev/null
done

now() { date +%s.%N; }
# record SIDE MODEL PRECISION IMG_PER_S WALL_SECONDS
record() { echo "$1 $2 $3 $4 $5" >>"$times"; }
echo "predict: $images JPEGs 500x375 -> 150x150, batch $batch, $threads threads, best of $rounds" \
  "alternating rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ "$round" -le "$rounds" ]; do
  for m in $models; do
    for p in fp32 bf16; do
      start=$(now)
      rate=$("$runner" predict --experiment predict_bench --model "$m" --results "$results" \
        --db "$db" "$work/images/predict" --threads "$threads" --batch "$batch" --precision "$p" \
        --verbose 2>&1 >/dev/null | sed -n 's/.*: \([0-9.]*\) img\/s.*/\1/p')
      record runner "$m" "$p" "$rate" "$(echo "$(now) - $start" | bc)"
      start=$(now)
      rate=$("$python" "$here/predict_torch.py" "$work/$m.json" "$work/$m.pth" \
        "$work/images/predict" "$threads" "$batch" "$threads" "$p" | awk '$1 == "img_per_s" {print $2}')
      record pytorch "$m" "$p" "$rate" "$(echo "$(now) - $start" | bc)"
    done
    start=$(now)
    rate=$(MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 "$python" "$here/predict_torch.py" \
      "$work/$m.json" "$work/$m.pth" "$work/images/predict" "$threads" "$batch" "$threads" fp32 |
      awk '$1 == "img_per_s" {print $2}')
    record tuned "$m" fp32 "$rate" "$(echo "$(now) - $start" | bc)"
  done
  round=$((round + 1))
done

# best SIDE MODEL PRECISION COLUMN: the highest img/s (column 4) or lowest wall (column 5).
best() {
  awk -v s="$1" -v m="$2" -v p="$3" -v c="$4" '$1 == s && $2 == m && $3 == p {
      v = $c + 0; if (n++ == 0 || (c == 4 ? v > b : v < b)) b = v }
    END {print b + 0}' "$times"
}
ratio='function ratio(a, b) { return b ? sprintf("%.2fx", a / b) : "-" }'
for m in $models; do
  for p in fp32 bf16; do
    awk -v m="$m" -v p="$p" -v c="$(best runner "$m" "$p" 4)" -v f="$(best pytorch "$m" fp32 4)" \
      -v b="$(best pytorch "$m" bf16 4)" -v t="$(best tuned "$m" fp32 4)" \
      -v cw="$(best runner "$m" "$p" 5)" -v fw="$(best pytorch "$m" fp32 5)" \
      -v bw="$(best pytorch "$m" bf16 5)" "$ratio"'
      BEGIN {
        printf "%s %s: %.1f img/s, %s PyTorch fp32", m, p, c, ratio(c, f)
        if (p == "bf16") printf ", %s PyTorch bf16", ratio(c, b)
        else printf " (%.1f img/s), %s PyTorch fp32 malloc-tuned (%.1f img/s)", f, ratio(c, t), t
        if (p == "bf16") printf " (%.1f / %.1f img/s)", f, b
        printf "; wall %.1f s vs %.1f s", cw, (p == "bf16" ? bw : fw)
        printf "\n" }'
  done
done
