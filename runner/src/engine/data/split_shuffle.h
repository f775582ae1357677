// The split step's streams: which generator draws the samples of one class from one pool. The
// draws themselves (std::mt19937_64, Fisher-Yates with the exact index draw) are in
// engine/util/pinned_random.h.
#pragma once

#include <cstdint>
#include <string>

namespace tlr {

// The seed of the std::mt19937_64 that shuffles the pool `pool` ("" for a dataset without subsets,
// else "train", "val" or "test") of class `class_name`:
// splitmix64(seed XOR splitmix64(fnv1a64(class_name + '\0' + pool))), SplitMix64's output (the
// finaliser of the state plus the golden gamma) applied twice. A class's draw depends on the seed,
// its name and its pool only, not on which other classes are kept or their order.
std::uint64_t stream_seed(std::uint64_t seed, const std::string& class_name,
                          const std::string& pool);

}  // namespace tlr
