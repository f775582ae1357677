// Fuzz target: a feature cache entry (engine/data/feature_cache.h) read by FeatureCache::get():
// libtorch's torch::load of the zip archive, then the checks of the three tensors and the digest.
// Any unreadable entry must be a miss (compute() is called), never a crash or an exception.
#include "engine/data/feature_cache.h"

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "fuzz_support.h"
#include "tlr/error.h"

namespace {

struct Miss {};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  if (const char* out = tlr::fuzz::seed_dir()) {
    // Seeds written by the project's writer: a valid entry of 3 × 4 features.
    const auto dir = tlr::fuzz::scratch_dir() / "seeds";
    tlr::FeatureCache cache(dir.string());
    cache.get("valid", [] {
      return tlr::FeatureSet(torch::arange(12, torch::kFloat).reshape({3, 4}),
                             torch::tensor({0, 1, 0}, torch::kInt64));
    });
    std::filesystem::create_directories(out);
    std::filesystem::copy_file(cache.path_for("valid"), std::filesystem::path(out) / "valid.pt",
                               std::filesystem::copy_options::overwrite_existing);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto dir = tlr::fuzz::scratch_dir() / "features";
  static const bool made = std::filesystem::create_directories(dir) || true;
  (void)made;
  const tlr::FeatureCache cache(dir.string());
  tlr::fuzz::write_file(cache.path_for("entry"), data, size);
  try {
    const tlr::FeatureSet set = cache.get("entry", []() -> tlr::FeatureSet { throw Miss(); });
    if (!set.from_cache || set.features.size(0) != set.labels.size(0)) __builtin_trap();
    (void)set.features.sum().item<double>();
    (void)set.labels.sum().item<std::int64_t>();
    tlr::fuzz::note("hit: " + std::to_string(set.labels.size(0)) + " samples");
  } catch (const Miss&) {
    tlr::fuzz::note("miss");
  } catch (const tlr::Error&) {
  }
  return 0;
}
