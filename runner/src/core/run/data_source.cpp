#include "core/run/data_source.h"

#include <torch/torch.h>

#include <iostream>
#include <sstream>

#include "engine/util/sha256.h"
#include "tlr/error.h"

namespace tlr {

using nlohmann::json;

const std::vector<std::size_t>& PreparedData::indices(Split which) const {
  switch (which) {
    case Split::train:
      return split.train;
    case Split::val:
      return split.val;
    case Split::test:
      return split.test;
  }
  return split.test;
}

std::vector<std::string> PreparedData::ids(Split which) const {
  std::vector<std::string> out;
  for (std::size_t i : indices(which)) out.push_back(dataset->id(i));
  return out;
}

const PreparedData& DataSource::prepare(const json& data) {
  const json& dataset_spec = data["dataset"];
  const std::string dataset_key = dataset_spec.dump();
  const json split = data.value("split", json::object());
  const std::string key = dataset_key + "|" + split.dump();
  auto found = prepared_.find(key);
  if (found != prepared_.end()) return found->second;

  auto& dataset = datasets_[dataset_key];
  if (!dataset) {
    const std::string plugin = dataset_spec["plugin"].get<std::string>();
    const Params params =
        Params::from_json(dataset_spec.contains("params") ? dataset_spec["params"].dump() : "{}");
    dataset = registry_.make_dataset(plugin, params, context_);
    if (!dataset) throw Error("dataset '" + plugin + "' built nothing");
  }
  PreparedData prepared;
  prepared.dataset = dataset;
  prepared.split = make_split(*dataset, Params::from_json(split.dump()));
  return prepared_.emplace(key, std::move(prepared)).first->second;
}

std::shared_ptr<const SplitImages> DataSource::images(const PreparedData& data, Split split,
                                                      const InputSpec& input, int workers,
                                                      OnBadImage on_bad_image) {
  const auto& indices = data.indices(split);
  const ImageFit& fit = split == Split::train ? input.train_fit : input.eval_fit;
  const std::string key = SplitImages::cache_key(data.dataset->fingerprint(), indices,
                                                 input.channels, input.height, input.width, fit);
  auto& slot = images_[key];
  if (!slot) {
    SplitImagesOptions options;
    options.cache_dir = context_.cache_dir;
    options.workers = workers;
    options.on_bad_image = on_bad_image;
    options.fit = fit;
    slot = SplitImages::load(*data.dataset, indices, input.channels, input.height, input.width,
                             options);
    // A damaged cache file was rebuilt, or the new one could not be written: one line, once.
    if (!slot->cache_problem().empty()) std::cerr << slot->cache_problem() << "\n";
  }
  return slot;
}

std::shared_ptr<Batches> DataSource::batches(const PreparedData& data, const InputSpec& input,
                                             const BatchRequest& request) {
  auto decoded = images(data, request.split, input, request.workers, request.on_bad_image);
  BatchOptions options;
  options.batch_size = request.batch_size;
  options.shuffle = request.shuffle;
  options.seed = request.seed;
  options.workers = request.workers;
  options.steps_per_epoch = request.steps_per_epoch;
  options.on_bad_image = request.on_bad_image;
  options.cache_dir = context_.cache_dir;
  return std::make_shared<ImageBatches>(*data.dataset, data.indices(request.split),
                                        data.split.label_of_dataset, input, request.augmenter,
                                        options, decoded);
}

std::string image_key(const SplitImages& images, const InputSpec& input) {
  std::ostringstream text;
  text.precision(17);
  text << images.key() << "|scale=" << input.scale << "|mean=";
  for (double m : input.channel_mean()) text << m << ",";
  text << "|std=";
  for (double s : input.channel_std()) text << s << ",";
  const std::string s = text.str();
  return sha256_hex(s.data(), s.size());
}

}  // namespace tlr
