#include "core/run/feature_cache.h"

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

namespace tlr {

namespace fs = std::filesystem;

std::string FeatureCache::path_for(const std::string& key) const {
  return (fs::path(dir_) / (key + ".pt")).string();
}

FeatureSet FeatureCache::get(const std::string& key,
                             const std::function<FeatureSet()>& compute) const {
  const std::string path = path_for(key);
  std::error_code ec;
  if (fs::exists(path, ec)) {
    try {
      std::vector<torch::Tensor> tensors;
      torch::load(tensors, path);
      if (tensors.size() == 2 && tensors[0].size(0) == tensors[1].size(0)) {
        return FeatureSet{tensors[0], tensors[1], true};
      }
    } catch (const std::exception&) {
      // Unreadable: fall through and recompute; the rename below replaces it.
    }
  }
  FeatureSet set = compute();
  fs::create_directories(dir_, ec);
  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  std::vector<torch::Tensor> tensors{set.features, set.labels};
  torch::save(tensors, tmp);
  fs::rename(tmp, path, ec);
  return set;
}

}  // namespace tlr
