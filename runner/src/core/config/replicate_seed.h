// The seeds of a model's replicates. Replicate 0 (shown as #1) keeps the model's seed, so a
// one-replicate run and the first replicate of five are the same cell (the same identity: the
// store reuses it); replicate r > 0 draws its seed from SplitMix64 over (seed, r), below 2^31 so
// that it reads the same in numpy, PyTorch and the sqlite3 shell.
#pragma once

#include <cstdint>

namespace tlr::config {

std::uint64_t replicate_seed(std::uint64_t seed, int replicate);

}  // namespace tlr::config
