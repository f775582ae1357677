#!/usr/bin/env bash
# Usage: relocated_install.sh BUILD_DIR SOURCE_DIR
# Installs this build into a temporary prefix, moves the prefix to another folder, and runs the
# moved runner from a folder outside the checkout: `plugins`, `validate` and a one-epoch
# experiment on IDX files written here. The moved install must not read, or even look for, any
# file of the checkout (strace), nor carry the checkout's path (strings).
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/first/prefix" >/dev/null
mkdir "$work/second"
mv "$work/first/prefix" "$work/second/moved"
rm -rf "$work/first"
prefix="$work/second/moved"
runner="$prefix/bin/runner"

for binary in "$runner" "$prefix"/lib/libtlr_sdk.so* "$prefix"/lib/tlr/plugins/*.so; do
  if strings -a "$binary" | grep -F "$src"; then
    echo "error: $binary contains the source-tree path $src" >&2
    exit 1
  fi
done
test -f "$prefix/share/tlr/schemas/experiment.schema.json"

# A working folder outside the checkout, with its own data: 2 classes of 28x28 noise in IDX files.
home="$work/experiments"
mkdir -p "$home/data"
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))"
         printf "\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
idx_pair() {  # idx_pair IMAGES LABELS COUNT
  { printf '\x00\x00\x08\x03'; be32 "$3"; be32 28; be32 28; head -c $(($3 * 784)) /dev/urandom; } >"$1"
  { printf '\x00\x00\x08\x01'; be32 "$3"; for ((i = 0; i < $3; i++)); do printf "\\x0$((i % 2))"; done; } >"$2"
}
idx_pair "$home/data/train-images-idx3-ubyte" "$home/data/train-labels-idx1-ubyte" 60
idx_pair "$home/data/t10k-images-idx3-ubyte" "$home/data/t10k-labels-idx1-ubyte" 20
cat >"$home/tiny.yaml" <<'YAML'
experiment: relocated_install
seed: 3
defaults:
  data:
    dataset: {plugin: idx, params: {root: data, classes: [even, odd]}}
    split: {per_class: {train: 20, val: 10, test: 10}}
    input: {size: [28, 28], channels: 1}
  head: {plugin: dense, params: {units: [8], dropout: 0.0}}
  training: {batch_size: 10, epochs: 1, optimizer: {name: adam, lr: 1.0e-3}}
models:
  - name: tiny_cnn
    strategy: {plugin: scratch}
    backbone: {plugin: basic_cnn, params: {widths: [4, 8], in_channels: 1}}
YAML

cd "$home"
# Every file the runner opens or looks for, in each of the three commands.
traced() { strace -f -qq -e trace=%file -o "$work/trace.txt" "$@"; }
no_checkout_access() {
  if grep -F "$src" "$work/trace.txt"; then
    echo "error: the moved runner looked for files in the checkout ($src)" >&2
    exit 1
  fi
}
listed=$(traced "$runner" plugins)
no_checkout_access
grep -q "dataset  *idx" <<<"$listed"
grep -q "backbone  *basic_cnn" <<<"$listed"
traced "$runner" validate tiny.yaml
no_checkout_access
traced "$runner" tiny.yaml --threads 1 --quiet
no_checkout_access
status=$(sqlite3 results/results.db "SELECT status FROM runs WHERE model = 'tiny_cnn'")
echo "run status: $status"
test "$status" = completed
