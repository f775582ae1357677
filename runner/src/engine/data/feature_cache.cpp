#include "engine/data/feature_cache.h"

#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <thread>
#include <vector>

#include "engine/util/sha256.h"
#include "tlr/error.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

// The shape FeatureCache stores: features N × …, labels N int64.
bool is_feature_set(const torch::Tensor& features, const torch::Tensor& labels) {
  return features.defined() && labels.defined() && features.dim() >= 1 && labels.dim() == 1 &&
         labels.scalar_type() == torch::kInt64 && features.size(0) == labels.size(0);
}

// sha256 of both tensors' types, shapes and bytes: torch::load checks no checksum, so without it
// a changed byte in a stored tensor would be returned as a hit.
std::string digest_of(const torch::Tensor& features, const torch::Tensor& labels) {
  Sha256 hash;
  hash.update("tlr-features-1");
  for (const torch::Tensor& t : {features.contiguous(), labels.contiguous()}) {
    std::string shape = std::string(c10::toString(t.scalar_type())) + "[";
    for (const std::int64_t d : t.sizes()) shape += std::to_string(d) + ",";
    hash.update(shape + "]");
    hash.update(t.data_ptr(), t.nbytes());
  }
  return hash.hex_digest();
}

torch::Tensor digest_tensor(const std::string& digest) {
  torch::Tensor t = torch::empty({static_cast<std::int64_t>(digest.size())}, torch::kUInt8);
  std::copy(digest.begin(), digest.end(), t.data_ptr<std::uint8_t>());
  return t;
}

bool holds_digest(const torch::Tensor& t, const std::string& digest) {
  return t.defined() && t.dim() == 1 && t.scalar_type() == torch::kUInt8 &&
         t.size(0) == static_cast<std::int64_t>(digest.size()) &&
         std::equal(digest.begin(), digest.end(), t.data_ptr<std::uint8_t>());
}

// A name no other writer uses at the same time: process, thread and a per-process count.
std::string temporary_name(const std::string& path) {
  static std::atomic<unsigned long long> count{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id())) + "." +
         std::to_string(count++);
}

}  // namespace

std::string FeatureCache::path_for(const std::string& key) const {
  return (fs::path(dir_) / (key + ".pt")).string();
}

FeatureSet FeatureCache::get(const std::string& key,
                             const std::function<FeatureSet()>& compute) const {
  const std::string path = path_for(key);
  std::string problem;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      std::vector<torch::Tensor> tensors;
      torch::load(tensors, path);
      if (tensors.size() == 3 && is_feature_set(tensors[0], tensors[1]) &&
          holds_digest(tensors[2], digest_of(tensors[0], tensors[1]))) {
        return FeatureSet(tensors[0], tensors[1], true);
      }
    } catch (const std::exception&) {
      // Reported below as the same problem as a file of the wrong content.
    }
    problem = path +
              ": warning: not a valid feature cache file (truncated, corrupt or of an older "
              "format); recomputing it";
  }
  FeatureSet set = compute();
  if (!is_feature_set(set.features, set.labels)) {
    const auto rows = [](const torch::Tensor& t) {
      return t.defined() && t.dim() >= 1 ? std::to_string(t.size(0)) : std::string("no");
    };
    throw Error("feature cache: error: " + rows(set.features) + " features but " +
                rows(set.labels) + " labels; expected N × … features and N int64 labels");
  }
  set.from_cache = false;
  set.cache_problem = problem;
  const std::string tmp = temporary_name(path);
  try {
    fs::create_directories(dir_);
    std::vector<torch::Tensor> tensors{set.features, set.labels,
                                       digest_tensor(digest_of(set.features, set.labels))};
    torch::save(tensors, tmp);
    fs::rename(tmp, path);
  } catch (const std::exception&) {
    fs::remove(tmp, ec);
    set.cache_problem = path + ": warning: cannot write the feature cache file";
  }
  return set;
}

}  // namespace tlr
