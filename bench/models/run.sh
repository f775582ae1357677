#!/bin/sh
# VGG16 at 150×150, batch 32: libtorch through our plugins vs PyTorch, same thread count.
# The two sides alternate for ROUNDS rounds (C++, Python, C++, Python, ...) and each side's best
# round counts, so that a change of machine load during one half does not decide the ratio.
# Also prints the conv peak (the best GFLOP/s of one VGG16 conv shape alone, libtorch) and each
# task's share of it.
# The runner (and bench_vgg16) install a caching CPU allocator (runner/src/engine/util/
# cpu_allocator.h). For reference, a third side runs the Python script with glibc's malloc told
# not to unmap freed blocks (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge): what a PyTorch user
# who knows the trick gets.
# Usage: bench/models/run.sh [build-dir] [threads] [batch] [size] [iterations] [rounds]
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
threads=${2:-2}
batch=${3:-32}
size=${4:-150}
iterations=${5:-3}
rounds=${6:-2}
cpp=$(mktemp)
py=$(mktemp)
tuned=$(mktemp)
trap 'rm -f "$cpp" "$py" "$tuned"' EXIT
echo "VGG16 ${size}x${size}, batch $batch, $threads threads, $iterations timed iterations" \
  "(+1 warm-up), best of $rounds alternating rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ "$round" -le "$rounds" ]; do
  "$build/bin/bench_vgg16" "$threads" "$batch" "$size" "$iterations" >>"$cpp"
  /usr/bin/python3 "$here/bench_vgg16.py" "$threads" "$batch" "$size" "$iterations" >>"$py"
  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 \
    /usr/bin/python3 "$here/bench_vgg16.py" "$threads" "$batch" "$size" "$iterations" >>"$tuned"
  round=$((round + 1))
done
best() { awk -v k="$1" '$1 == k && $2 > m {m = $2} END {print m}' "$2"; }
peak=$(best conv_peak_gflops "$cpp")
for task in features finetune; do
  c=$(best $task "$cpp")
  p=$(best $task "$py")
  m=$(best $task "$tuned")
  g=$(best ${task}_gflop "$py")
  awk -v t=$task -v c="$c" -v p="$p" -v m="$m" -v g="$g" -v k="$peak" 'BEGIN {
    printf "%-9s C++ %6.2f img/s (%5.1f GFLOP/s, %3.0f%% of peak)   PyTorch %6.2f img/s (%5.1f GFLOP/s)",
           t, c, c * g, 100 * c * g / k, p, p * g
    printf "   C++/PyTorch %.2f   (PyTorch, malloc tuned: %.2f img/s, C++/that %.2f)\n", c / p, m, c / m }'
done
awk -v k="$peak" 'BEGIN { printf "conv peak (one VGG16 conv shape alone, libtorch): %.1f GFLOP/s\n", k }'
