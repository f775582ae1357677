#include "engine/data/sampling.h"

#include <numeric>
#include <utility>

namespace tlr {
namespace {

// SplitMix64's finaliser: a bijective 64-bit mix.
std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t combine_seed(std::uint64_t state, std::uint64_t value) {
  return mix64(state ^ mix64(value + 0x9e3779b97f4a7c15ULL));
}

std::uint64_t sample_seed(std::uint64_t seed, std::int64_t epoch, std::uint64_t position) {
  const std::uint64_t base = combine_seed(seed, 0x5a4d504c45ULL);
  return combine_seed(combine_seed(base, static_cast<std::uint64_t>(epoch)), position);
}

std::vector<std::uint32_t> shuffled_order(std::size_t n, std::uint64_t seed, std::int64_t pass) {
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937_64 rng(
      combine_seed(combine_seed(seed, 0x53485546ULL), static_cast<std::uint64_t>(pass)));
  for (std::size_t i = n; i > 1; --i) {
    const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
    std::size_t j = static_cast<std::size_t>(u * static_cast<double>(i));
    if (j >= i) j = i - 1;
    std::swap(order[i - 1], order[j]);
  }
  return order;
}

}  // namespace tlr
