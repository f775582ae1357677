#!/usr/bin/env bash
# Installs every Debian package tlr needs. Idempotent: installs only what is missing.
# Usage: scripts/setup.sh            (needs root or sudo; apt-get from Debian's archive only)
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  clang-format
  # libraries the runner and plugins link
  libtorch-dev libopencv-dev libyaml-cpp-dev libsqlite3-dev sqlite3
  libboost-dev libboost-filesystem-dev libboost-program-options-dev
  libvalijson-dev nlohmann-json3-dev libfmt-dev zlib1g-dev
  libjpeg62-turbo-dev   # the SDK decodes JPEGs with libjpeg itself (runner/src/sdk/jpeg_decoder.cpp)
  # a fast BLAS: Debian's reference BLAS makes libtorch's matmul ~20x slower
  libopenblas0-openmp
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-torch python3-torchvision python3-numpy python3-pil python3-scipy
  strace   # the relocated-install test checks that no file of the checkout is opened
  clang libclang-rt-14-dev   # libFuzzer for scripts/fuzz.sh
  # a one-node Slurm cluster on localhost for the submit/merge/requeue tests (scripts/slurm-up.sh)
  slurm-wlm munge
  chromium
  # the embedded default data set
  dataset-fashion-mnist
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
