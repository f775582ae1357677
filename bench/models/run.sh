#!/bin/sh
# VGG16 at 150x150: libtorch through our plugins (bench_vgg16, computing as the runner does) vs
# PyTorch (bench_vgg16.py), same libtorch, thread count and batch, in fp32 and in bf16 autocast.
# Per round, for each precision, the C++ side then the Python side (C++ fp32, Python fp32, C++
# bf16, Python bf16); each side's best round counts, so that a change of machine load during one
# half does not decide the ratio. Prints per task and precision the C++ rate and its ratio to
# PyTorch fp32 (and, for bf16, to PyTorch bf16 autocast), e.g.
#   features bf16: 0.295 img/s, 0.04x PyTorch fp32, 1.02x PyTorch bf16
# then a detail table: both sides' img/s, GFLOP/s and the share of the fp32 conv peak (the best
# GFLOP/s of one VGG16 conv shape alone, libtorch, fp32).
# The runner (and bench_vgg16) install a caching CPU allocator (runner/src/engine/util/
# cpu_allocator.h). For reference, a third side runs the Python script in fp32 with glibc's malloc
# told not to unmap freed blocks (MALLOC_MMAP_MAX_=0, MALLOC_TRIM_THRESHOLD_ huge): what a PyTorch
# user who knows the trick gets.
#
# bf16 is slow on a CPU without native bf16 (no avx512_bf16 / amx_bf16 in /proc/cpuinfo: libtorch
# then emulates it, ~10-25x slower than fp32); the first line says which this CPU is. The defaults
# are sized for that: batch 4, 1 timed iteration (+1 warm-up) in bf16, 5 in fp32, 2 rounds: about
# 7 minutes on 2 AVX2 cores (AMD EPYC Zen 3), almost all of it bf16, which costs each side about
# 11 s per image and iteration (features plus a fine-tune step) at 150x150: batch x (iterations+1)
# x 11 s per side and round. Batch 32 (the README's earlier fp32-only figures) with 1 iteration
# takes about 25 minutes per round.
# Usage: bench/models/run.sh [build-dir] [threads] [batch] [size] [iterations] [rounds]
#                            [fp32-iterations]
#   defaults: build/ 2 4 150 1 2 and fp32-iterations = max(iterations, 5)
set -e
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
threads=${2:-2}
batch=${3:-4}
size=${4:-150}
iterations=${5:-1}
rounds=${6:-2}
fp32_iterations=${7:-$((iterations > 5 ? iterations : 5))}
cpp=$(mktemp)
py=$(mktemp)
tuned=$(mktemp)
trap 'rm -f "$cpp" "$py" "$tuned"' EXIT
flags=$(grep -o -w -m1 -E 'avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/ $//')
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
if [ -n "$flags" ]; then
  echo "native bf16: yes ($flags in /proc/cpuinfo; $model)"
else
  echo "native bf16: no (neither avx512_bf16 nor amx_bf16 in /proc/cpuinfo; $model): libtorch" \
    "emulates bf16 here, expect bf16 many times slower than fp32"
fi
echo "VGG16 ${size}x${size}, batch $batch, $threads threads, timed iterations: $fp32_iterations fp32," \
  "$iterations bf16 (+1 warm-up each), best of $rounds alternating rounds;" \
  "load: $(cut -d' ' -f1-3 /proc/loadavg)"
round=1
while [ "$round" -le "$rounds" ]; do
  for p in fp32 bf16; do
    n=$iterations
    [ "$p" = fp32 ] && n=$fp32_iterations
    "$build/bin/bench_vgg16" "$threads" "$batch" "$size" "$n" "$p" >>"$cpp"
    /usr/bin/python3 "$here/bench_vgg16.py" "$threads" "$batch" "$size" "$n" "$p" >>"$py"
  done
  MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 \
    /usr/bin/python3 "$here/bench_vgg16.py" "$threads" "$batch" "$size" "$fp32_iterations" fp32 \
    >>"$tuned"
  round=$((round + 1))
done
# best KEY PRECISION FILE: the highest value of the "KEY VALUE PRECISION" lines.
# ratio formats C/P as "1.95x" (three decimals below 0.1x).
ratio='function ratio(c, p) { return !p ? "-" : c / p < 0.1 ? sprintf("%.3fx", c / p) : sprintf("%.2fx", c / p) }'
best() { awk -v k="$1" -v p="$2" '$1 == k && $3 == p && $2 > m {m = $2} END {print m + 0}' "$3"; }
native=$(awk '$1 == "native_bf16" {print $2; exit}' "$cpp")
expected=0
[ -n "$flags" ] && expected=1
if [ "$native" != "$expected" ]; then
  echo "note: tlr::cpu_has_native_bf16() says $native (it also asks the OS, XGETBV), /proc/cpuinfo" \
    "says '${flags:-none}'"
fi
peak=$(best conv_peak_gflops fp32 "$cpp")
for task in features finetune; do
  for p in fp32 bf16; do
    awk -v t=$task -v p=$p -v c="$(best $task $p "$cpp")" -v f="$(best $task fp32 "$py")" \
      -v b="$(best $task bf16 "$py")" "$ratio"'
      BEGIN {
      printf "%s %s: %.3g img/s, %s PyTorch fp32", t, p, c, ratio(c, f)
      if (p == "bf16") printf ", %s PyTorch bf16", ratio(c, b)
      printf "\n" }'
  done
done
echo
awk -v k="$peak" 'BEGIN {
  printf "%-13s %9s %8s %6s %13s %8s   %s\n", "", "C++ img/s", "GFLOP/s", "%peak", "PyTorch img/s",
         "GFLOP/s", "PyTorch fp32, malloc tuned"
}'
for task in features finetune; do
  g=$(best ${task}_gflop - "$py")
  for p in fp32 bf16; do
    m=""
    [ "$p" = fp32 ] && m=$(best $task fp32 "$tuned")
    awk -v t="$task $p" -v c="$(best $task $p "$cpp")" -v q="$(best $task $p "$py")" -v m="$m" \
      -v g="$g" -v k="$peak" "$ratio"'
      BEGIN {
      printf "%-13s %9.3g %8.1f %5.0f%% %13.3g %8.1f", t, c, c * g, k ? 100 * c * g / k : 0, q, q * g
      if (m != "") printf "   %.3g img/s, C++/that %s", m, ratio(c, m)
      printf "\n" }'
  done
done
awk -v k="$peak" 'BEGIN {
  printf "%%peak: share of the conv peak (one VGG16 conv shape alone, libtorch, fp32): %.1f GFLOP/s\n", k }'
