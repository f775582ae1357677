#!/bin/sh
# Runs the runner's data pipeline (bench_data_pipeline) and the torchvision one on the same JPEGs
# with the same thread count and prints both rates and their ratios. The baseline is the pipeline a
# PyTorch user writes: torchvision's ImageFolder + transforms, which decodes every JPEG at full size
# with PIL. The same pipeline tuned with PIL's draft mode (reduced decode, as the runner's
# image_folder does) is printed for reference, not used as the baseline.
#   bench/run.sh [BUILD_DIR] [THREADS] [IMAGES]      (defaults: build, nproc, 600)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
threads=${2:-$(nproc)}
images=${3:-600}
dir=$(mktemp -d "${TMPDIR:-/tmp}/tlr_bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

cpp=$("$build/bin/bench_data_pipeline" --images "$images" --threads "$threads" --dir "$dir" --keep)
echo "C++ (runner loader: image_folder + keras_image plugins):"
echo "$cpp" | sed 's/^/  /'
py=$(/usr/bin/python3 "$here/data_pipeline_torchvision.py" --dir "$dir" --threads "$threads")
echo "Python (torchvision ImageFolder + transforms, DataLoader):"
echo "$py" | sed 's/^/  /'
draft=$(/usr/bin/python3 "$here/data_pipeline_torchvision.py" --dir "$dir" --threads "$threads" --draft)
echo "Python, tuned with PIL's draft mode (reduced JPEG decode; not what ImageFolder does):"
echo "$draft" | sed 's/^/  /'

cold=$(echo "$cpp" | awk '/^cold_images_per_s/ {print $2}')
full=$(echo "$cpp" | awk '/^cold_full_decode_images_per_s/ {print $2}')
epoch=$(echo "$cpp" | awk '/^epoch_images_per_s/ {print $2}')
python=$(echo "$py" | awk '/^cold_images_per_s/ {print $2}')
python_draft=$(echo "$draft" | awk '/^cold_images_per_s/ {print $2}')
awk -v c="$cold" -v f="$full" -v e="$epoch" -v p="$python" -v d="$python_draft" 'BEGIN {
  printf "ratio, first epoch (decode at >= 150x150 + resize + augment) vs torchvision epoch: %.2fx\n", c / p
  printf "ratio, the same with a full-size decode (a dataset ignoring the size hint): %.2fx\n", f / p
  printf "ratio, cached epoch vs torchvision epoch: %.2fx\n", e / p
  printf "for reference, first epoch vs torchvision with PIL draft mode: %.2fx\n", c / d
}'
