// The loader's randomness, defined here bit for bit (no std:: distributions, whose output differs
// between standard libraries), so that a run replays exactly on any machine and thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

// Folds `value` into `state`: m(state ^ m(value + 0x9e3779b97f4a7c15)), m being SplitMix64's
// finaliser.
TLR_API std::uint64_t combine_seed(std::uint64_t state, std::uint64_t value);

// The seed of sample `position` (its place in the epoch's stream) in `epoch`:
// combine(combine(combine(seed, 0x5a4d504c45), epoch), position). An augmenter gets a
// std::mt19937_64 seeded with it.
TLR_API std::uint64_t sample_seed(std::uint64_t seed, std::int64_t epoch, std::uint64_t position);

// A permutation of 0..n-1: Fisher–Yates from the last element down, j = floor(u * (i + 1)) with
// u = (rng() >> 11) / 2^53 from std::mt19937_64(combine(combine(seed, 0x53485546), pass)).
TLR_API std::vector<std::uint32_t> shuffled_order(std::size_t n, std::uint64_t seed,
                                                  std::int64_t pass);

}  // namespace tlr
