// The data of one model: its dataset built by the plugin, split by the split step, decoded once per
// (split, input size) and turned into batches by the engine's loader. Datasets, splits and decoded
// images are shared by every model of the experiment that asks for the same ones.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/data/image_batches.h"
#include "engine/data/input_spec.h"
#include "engine/data/split.h"
#include "engine/data/split_images.h"
#include "tlr/augmenter.h"
#include "tlr/dataset.h"
#include "tlr/registry.h"
#include "tlr/strategy.h"

namespace tlr {

struct PreparedData {
  std::shared_ptr<const Dataset> dataset;
  SplitPlan split;
  const std::vector<std::size_t>& indices(Split which) const;
  std::vector<std::string> ids(Split which) const;  // recorded with the run
};

struct BatchRequest {
  Split split = Split::train;
  const Augmenter* augmenter = nullptr;  // train only
  std::size_t batch_size = 32;
  bool shuffle = false;
  std::uint64_t seed = 0;
  std::size_t steps_per_epoch = 0;
  int workers = 1;
  OnBadImage on_bad_image = OnBadImage::skip;
};

class DataSource {
 public:
  DataSource(const Registry& registry, Context context)
      : registry_(registry), context_(std::move(context)) {}
  // The dataset and split the model's `data` block asks for (built once per distinct block).
  const PreparedData& prepare(const nlohmann::json& data);
  // The split's images decoded and resized for `input` (once per process; cached on disk).
  std::shared_ptr<const SplitImages> images(const PreparedData& data, Split split,
                                            const InputSpec& input, int workers,
                                            OnBadImage on_bad_image);
  std::shared_ptr<Batches> batches(const PreparedData& data, const InputSpec& input,
                                   const BatchRequest& request);

 private:
  const Registry& registry_;
  Context context_;
  std::map<std::string, std::shared_ptr<const Dataset>> datasets_;
  std::map<std::string, PreparedData> prepared_;
  std::map<std::string, std::shared_ptr<const SplitImages>> images_;
};

// Content key of a split's images as the loader feeds them to a model (for the feature cache).
std::string image_key(const SplitImages& images, const InputSpec& input);

}  // namespace tlr
