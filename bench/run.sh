#!/bin/sh
# Runs the C++ and the torchvision data pipelines on the same JPEGs with the same thread count and
# prints both rates and their ratio.
#   bench/run.sh [BUILD_DIR] [THREADS] [IMAGES]      (defaults: build, nproc, 600)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
threads=${2:-$(nproc)}
images=${3:-600}
dir=$(mktemp -d "${TMPDIR:-/tmp}/tlr_bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM

cpp=$("$build/bin/bench_data_pipeline" --images "$images" --threads "$threads" --dir "$dir" --keep)
echo "C++ (OpenCV + keras_image):"
echo "$cpp" | sed 's/^/  /'
py=$(/usr/bin/python3 "$here/data_pipeline_torchvision.py" --dir "$dir" --threads "$threads")
echo "Python (PIL + torchvision, DataLoader):"
echo "$py" | sed 's/^/  /'

cold=$(echo "$cpp" | awk '/^cold_images_per_s/ {print $2}')
half=$(echo "$cpp" | awk '/^cold_half_decode_images_per_s/ {print $2}')
epoch=$(echo "$cpp" | awk '/^epoch_images_per_s/ {print $2}')
python=$(echo "$py" | awk '/^cold_images_per_s/ {print $2}')
awk -v c="$cold" -v h="$half" -v e="$epoch" -v p="$python" 'BEGIN {
  printf "ratio, same work (decode+resize+augment): %.2fx\n", c / p
  printf "ratio, same work with half-size JPEG decode: %.2fx\n", h / p
  printf "ratio, cached epoch vs torchvision epoch: %.2fx\n", e / p
}'
