// Bottleneck features, content-addressed under <cache>/features/: the key covers the images (their
// cache key), the backbone (plugin config, weights sha256, cut point) and the preprocessing, so a
// second run of the same feature-extraction cell reads features instead of running the backbone.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>

namespace tlr {

struct FeatureSet {
  torch::Tensor features;  // N×…
  torch::Tensor labels;    // N int64
  bool from_cache = false;
};

class FeatureCache {
 public:
  explicit FeatureCache(std::string dir) : dir_(std::move(dir)) {}
  // The cached set for `key`, or compute() it and store it (written to a temporary file and
  // renamed, so an interrupted write never leaves a half file). A corrupt file is recomputed.
  FeatureSet get(const std::string& key, const std::function<FeatureSet()>& compute) const;
  std::string path_for(const std::string& key) const;

 private:
  std::string dir_;
};

}  // namespace tlr
