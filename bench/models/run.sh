#!/bin/sh
# VGG16 at 150×150, batch 32: libtorch through our plugins vs PyTorch, same thread count.
# Usage: bench/models/run.sh [build-dir] [threads] [batch] [size] [iterations]
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
threads=${2:-2}
batch=${3:-32}
size=${4:-150}
iterations=${5:-3}
cpp=$(mktemp)
py=$(mktemp)
trap 'rm -f "$cpp" "$py"' EXIT
echo "VGG16 ${size}x${size}, batch $batch, $threads threads," \
  "$iterations timed iterations (+1 warm-up)"
"$build/bin/bench_vgg16" "$threads" "$batch" "$size" "$iterations" >"$cpp"
/usr/bin/python3 "$here/bench_vgg16.py" "$threads" "$batch" "$size" "$iterations" >"$py"
value() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
for task in features finetune; do
  c=$(value $task "$cpp")
  p=$(value $task "$py")
  g=$(value ${task}_gflop "$py")
  awk -v t=$task -v c="$c" -v p="$p" -v g="$g" 'BEGIN {
    printf "%-9s C++ %7.2f img/s (%6.1f GFLOP/s)   PyTorch %7.2f img/s (%6.1f GFLOP/s)",
           t, c, c * g, p, p * g
    printf "   C++/PyTorch %.2f   [%.2f GFLOP/img]\n", c / p, g }'
done
