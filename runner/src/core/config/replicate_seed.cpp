#include "core/config/replicate_seed.h"

#include "engine/util/pinned_random.h"

namespace tlr::config {

std::uint64_t replicate_seed(std::uint64_t seed, int replicate) {
  if (replicate <= 0) return seed;
  const std::uint64_t mixed = splitmix64(splitmix64(seed) ^ static_cast<std::uint64_t>(replicate));
  return mixed & 0x7fffffffULL;
}

}  // namespace tlr::config
