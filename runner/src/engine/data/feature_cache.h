// Bottleneck features of one split, content-addressed under a folder (results/cache/features): the
// caller's key covers the images (their cache key), the backbone (plugin config, weights sha256,
// cut point) and the preprocessing, so a second run of the same cell reads the features instead of
// running the backbone.
//
// Entry: <dir>/<key>.pt, torch::save of the tensors {features, labels, digest}, digest being the
// sha256 (64 hex characters as uint8) of both tensors' types, shapes and bytes. An entry is a hit
// when it loads, holds exactly those three tensors (features with a sample dimension, labels one
// int64 per sample) and its digest matches: features and labels come back as stored, bit for
// bit. Anything else (missing, truncated, a changed byte, other content, the two-tensor entries
// of earlier versions) is a miss: the set is computed and the entry written over.
// Ownership: a FeatureCache holds the folder's name only; a FeatureSet owns its tensors (a hit is
// read into memory, so the file may go away afterwards).
// Threads and processes: get() may run concurrently, in threads and in processes sharing the
// folder. Every writer writes a temporary file of its own and renames it into place, so a reader
// sees a whole entry or none; two writers of one key both compute it and the last rename wins.
#pragma once

#include <torch/types.h>

#include <functional>
#include <string>
#include <utility>

namespace tlr {

struct FeatureSet {
  FeatureSet() = default;
  FeatureSet(torch::Tensor features, torch::Tensor labels, bool from_cache = false)
      : features(std::move(features)), labels(std::move(labels)), from_cache(from_cache) {}

  torch::Tensor features;  // N × …
  torch::Tensor labels;    // N int64
  bool from_cache = false;
  // Why the entry could not be read or written, as one "<path>: warning: ..." line; "" when all
  // went well. The features are valid either way.
  std::string cache_problem;
};

class FeatureCache {
 public:
  explicit FeatureCache(std::string dir) : dir_(std::move(dir)) {}
  // The stored set for `key` (a file name stem, e.g. a hex digest) with from_cache set, or
  // compute() it and store it. compute() must return features and labels of the same length
  // (tlr::Error otherwise, nothing stored); its exceptions propagate and nothing is written. A
  // failed write is reported in cache_problem, not thrown.
  FeatureSet get(const std::string& key, const std::function<FeatureSet()>& compute) const;
  std::string path_for(const std::string& key) const;

 private:
  std::string dir_;
};

}  // namespace tlr
