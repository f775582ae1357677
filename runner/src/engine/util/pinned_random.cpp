#include "engine/util/pinned_random.h"

#include <limits>
#include <numeric>

#include "tlr/error.h"

namespace tlr {

std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::uint64_t splitmix64(std::uint64_t state) { return mix64(state + kGoldenGamma); }

std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

std::uint64_t combine_seed(std::uint64_t state, std::uint64_t value) {
  return mix64(state ^ splitmix64(value));
}

std::uint64_t derive_seed(std::uint64_t seed, Stream stream, std::int64_t epoch) {
  return combine_seed(combine_seed(seed, static_cast<std::uint64_t>(stream)),
                      static_cast<std::uint64_t>(epoch));
}

std::uint64_t sample_seed(std::uint64_t seed, std::int64_t epoch, std::uint64_t position) {
  return combine_seed(derive_seed(seed, Stream::augment, epoch), position);
}

double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
  const std::uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
  for (;;) {
    const std::uint64_t x = rng();
    if (x >= threshold) return x % bound;
  }
}

std::uint64_t scaled_below(std::mt19937_64& rng, std::uint64_t bound) {
  const auto j = static_cast<std::uint64_t>(uniform01(rng) * static_cast<double>(bound));
  return j < bound ? j : bound - 1;
}

std::uint64_t draw_index(std::mt19937_64& rng, std::uint64_t bound, IndexDraw draw) {
  return draw == IndexDraw::exact ? uniform_below(rng, bound) : scaled_below(rng, bound);
}

std::vector<std::uint32_t> shuffled_order(std::size_t n, std::uint64_t seed, std::int64_t pass) {
  if (n > std::numeric_limits<std::uint32_t>::max()) {
    throw Error("batches: error: " + std::to_string(n) +
                " samples are more than a shuffled order can index (2^32 - 1)");
  }
  std::vector<std::uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  std::mt19937_64 rng(derive_seed(seed, Stream::shuffle, pass));
  fisher_yates(order, rng, IndexDraw::scaled);
  return order;
}

}  // namespace tlr
