// The engine's randomness, pinned by this code: every split, epoch order, augmentation seed and
// shuffle is computed here from integer arithmetic and std::mt19937_64, whose output sequence the
// C++ standard defines exactly ([rand.predef]: the 10000th output of a default-constructed one is
// 9981545732273789042). Nothing goes through a std:: distribution, std::shuffle or a libtorch
// generator (torch::randperm), whose results differ between standard libraries or libtorch
// versions, so a seed gives the same draws on every machine, build and thread count.
//
// Changing any output here changes recorded experiments: split membership (and so every image
// cache key and split fingerprint), the epoch orders and the augmentation of every run.
// tests/util/pinned_random_test.cpp pins exact values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tlr {

// ---- Mixing -------------------------------------------------------------------------------------

// The golden-ratio increment of SplitMix64, 2^64 / phi rounded to odd.
inline constexpr std::uint64_t kGoldenGamma = 0x9e3779b97f4a7c15ULL;

// SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", 2014; Stafford's variant 13): x ^= x >> 30; x *= 0xbf58476d1ce4e5b9; x ^= x >> 27;
// x *= 0x94d049bb133111eb; x ^= x >> 31. A bijection of 64 bits in which every input bit flips
// about half of the output bits; mix64(0) = 0.
std::uint64_t mix64(std::uint64_t x);

// The output of SplitMix64 in state `state`: mix64(state + kGoldenGamma). splitmix64(0) is
// 0xe220a8397b1dcdaf, the reference generator's first output from seed 0.
std::uint64_t splitmix64(std::uint64_t state);

// 64-bit FNV-1a of the bytes of `text` (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
std::uint64_t fnv1a64(const std::string& text);

// ---- Seed derivation ----------------------------------------------------------------------------

// Folds `value` into `state`: mix64(state ^ splitmix64(value)).
std::uint64_t combine_seed(std::uint64_t state, std::uint64_t value);

// The independent streams drawn from one run seed; the values are part of the pinned outputs.
enum class Stream : std::uint64_t {
  shuffle = 0x53485546ULL,    // epoch (pass) orders of the batches: "SHUF"
  augment = 0x5a4d504c45ULL,  // per-sample augmentation seeds
};

// The seed of `stream` in `epoch` (a pass number for orders): combine(combine(seed, stream),
// epoch), the epoch as its two's-complement 64 bits. Depends on these three values only.
std::uint64_t derive_seed(std::uint64_t seed, Stream stream, std::int64_t epoch);

// The seed of the augmentation of the sample at `position` of epoch `epoch`'s stream:
// combine(derive_seed(seed, Stream::augment, epoch), position). An augmenter gets a
// std::mt19937_64 seeded with it.
std::uint64_t sample_seed(std::uint64_t seed, std::int64_t epoch, std::uint64_t position);

// ---- Draws from std::mt19937_64 -----------------------------------------------------------------

// A double in [0, 1) from the top 53 bits of one output: (rng() >> 11) · 2^-53. The augmenters'
// uniform01 is the same expression.
double uniform01(std::mt19937_64& rng);

// An integer in [0, bound), bound >= 1, exactly uniform: outputs below 2^64 mod bound are rejected
// and drawn again, the accepted one is reduced modulo bound.
std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound);

// An integer in [0, bound), bound >= 1, from exactly one output: floor(uniform01(rng) · bound),
// at most bound - 1. Its bias (below bound / 2^53) is immaterial for sample counts.
std::uint64_t scaled_below(std::mt19937_64& rng, std::uint64_t bound);

// How fisher_yates picks the element to swap. Both rules are in use because each one already
// decides recorded outputs: `exact` (uniform_below) the split step's membership, `scaled`
// (scaled_below) the epoch order of every batch stream.
enum class IndexDraw { exact, scaled };

// One index in [0, bound) by `draw`.
std::uint64_t draw_index(std::mt19937_64& rng, std::uint64_t bound, IndexDraw draw);

// ---- Shuffles -----------------------------------------------------------------------------------

// Fisher-Yates from the last element down: for i = n-1 .. 1, swap items[i] with
// items[draw_index(rng, i + 1, draw)]; n - 1 draws (none for n < 2). The permutation depends on
// the positions only, never on the values.
template <typename T>
void fisher_yates(std::vector<T>& items, std::mt19937_64& rng, IndexDraw draw) {
  for (std::size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[static_cast<std::size_t>(draw_index(rng, i, draw))]);
  }
}

// The order of n samples (0 .. n-1 permuted) in pass `pass`: fisher_yates(..., scaled) with
// std::mt19937_64(derive_seed(seed, Stream::shuffle, pass)). ImageBatches and TensorBatches
// take their shuffled epochs from it. Throws tlr::Error when n does not fit 32 bits.
std::vector<std::uint32_t> shuffled_order(std::size_t n, std::uint64_t seed, std::int64_t pass);

}  // namespace tlr
