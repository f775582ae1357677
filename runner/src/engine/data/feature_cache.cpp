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

#include "engine/util/atomic_file.h"
#include "engine/util/sha256.h"
#include "engine/weights/archive_records.h"
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
      // CRCs first: torch::load can crash on a corrupt archive (engine/weights/archive_records.h).
      check_archive_file(path);
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
  try {
    fs::create_directories(dir_);
    // torch::save's own layout (keys "0", "1", "2"), which torch::load reads, through a sink
    // that never throws into libtorch's zip writer (engine/util/atomic_file.h).
    AtomicFile file(path, "the feature cache file");
    torch::serialize::OutputArchive archive(std::make_shared<torch::jit::CompilationUnit>());
    const torch::Tensor tensors[] = {set.features, set.labels,
                                     digest_tensor(digest_of(set.features, set.labels))};
    for (std::size_t i = 0; i < 3; ++i) archive.write(std::to_string(i), tensors[i]);
    archive.save_to(
        [&file](const void* data, std::size_t n) -> std::size_t { return file.write(data, n); });
    file.commit();
  } catch (const std::exception& e) {
    std::string reason = e.what();
    reason = reason.substr(0, reason.find('\n'));
    const std::string prefix = path + ": error: cannot write the feature cache file: ";
    if (reason.rfind(prefix, 0) == 0) reason = reason.substr(prefix.size());
    set.cache_problem = path + ": warning: cannot write the feature cache file (" + reason +
                        "); the run goes on without it";
  }
  return set;
}

}  // namespace tlr
