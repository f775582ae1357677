#include "engine/data/split_shuffle.h"

#include "engine/util/pinned_random.h"

namespace tlr {

std::uint64_t stream_seed(std::uint64_t seed, const std::string& class_name,
                          const std::string& pool) {
  return splitmix64(seed ^ splitmix64(fnv1a64(class_name + std::string(1, '\0') + pool)));
}

}  // namespace tlr
