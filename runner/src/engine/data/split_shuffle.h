// The random draws of the split step, written out so that a seed gives the same split with every
// standard library (std::shuffle and std::uniform_int_distribution are not specified exactly;
// std::mt19937_64 is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

// SplitMix64's finaliser: a bijective mix of 64 bits.
TLR_API std::uint64_t mix64(std::uint64_t x);

// 64-bit FNV-1a of a string.
TLR_API std::uint64_t fnv1a64(const std::string& text);

// The seed of the generator that draws the samples of one class from one pool:
// mix64(seed XOR mix64(fnv1a64(class_name + '\0' + pool))). A class's draw depends on the seed,
// its name and its pool only, not on which other classes are kept or their order.
TLR_API std::uint64_t stream_seed(std::uint64_t seed, const std::string& class_name,
                                  const std::string& pool);

// A uniform integer in [0, bound), bound >= 1, without modulo bias: draws below 2^64 mod bound are
// rejected and redrawn, then the draw is reduced modulo bound.
TLR_API std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound);

// Fisher-Yates, from the last element down: for i = n-1 .. 1, swap items[i] with
// items[uniform_below(rng, i + 1)].
TLR_API void shuffle_indices(std::vector<std::size_t>& items, std::mt19937_64& rng);

}  // namespace tlr
