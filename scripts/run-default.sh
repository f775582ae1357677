#!/usr/bin/env bash
# Sets up, builds, and runs the embedded default experiment: the five-model transfer-learning
# comparison on Fashion-MNIST (Debian's dataset-fashion-mnist). Extra arguments go to the runner.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
exec build/bin/runner experiments/five_models.yaml "$@"
