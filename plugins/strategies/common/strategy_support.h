// What the bundled strategies share: freezing, block lookup by name, the usual fit-and-evaluate.
// Header-only and SDK-only, so that each strategy stays one self-contained .so.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tlr/sdk.h"

namespace tlr::strategies {

inline void set_trainable(torch::nn::Module& module, bool trainable) {
  for (auto& p : module.parameters()) p.set_requires_grad(trainable);
}

inline std::vector<torch::Tensor> trainable_parameters(torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (auto& p : module.parameters()) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

// ---- parameters several strategies take, declared once ----

// Members of a schema's "properties" ("name": {...}) that strategy_schema() composes into the
// schema of each strategy taking them, so that their type, default and help read the same in
// every strategy.
constexpr const char* kAugmentProperty = R"json("augment": {
      "type": "boolean", "default": true,
      "description": "apply the model's augmenter (if it has one) to the train split"})json";
constexpr const char* kCutAfterProperty = R"json("cut_after": {
      "type": "string", "default": "",
      "description": "last block kept (a name, or a prefix: its last block); empty: every block"})json";

// A strategy's params schema: an object of exactly `properties` (each a "name": {...} member, its
// own or one of the k...Property above), `required` naming the keys that must be given.
inline std::string strategy_schema(const std::vector<std::string>& properties,
                                   const std::vector<std::string>& required = {}) {
  std::string schema = R"json({"type": "object", "additionalProperties": false)json";
  if (!required.empty()) {
    schema += R"json(, "required": [)json";
    for (std::size_t i = 0; i < required.size(); ++i) {
      schema += (i > 0 ? ", \"" : "\"") + required[i] + "\"";
    }
    schema += "]";
  }
  schema += R"json(, "properties": {)json";
  for (std::size_t i = 0; i < properties.size(); ++i) {
    schema += (i > 0 ? ",\n    " : "\n    ") + properties[i];
  }
  return schema + "\n}}";
}

inline std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Index of the block `wanted` names in `blocks`: an exact name, or a prefix such as "block4" or
// "layer3" meaning the first block starting with it (the last one when `last_of_prefix`, for
// cutting after a whole group). `wanted` is the value of `strategy`'s parameter `param`; an
// unknown name throws tlr::ParamError for `param` (the runner reports it where the value was
// written) with a did-you-mean and the list of blocks: "fine_tune.from: unknown block ...".
inline std::size_t find_block(const std::vector<std::string>& blocks, const std::string& wanted,
                              const std::string& strategy, const std::string& param,
                              bool last_of_prefix = false) {
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (blocks[i] == wanted) return i;
  }
  std::vector<std::size_t> matches;
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    if (!wanted.empty() && blocks[i].rfind(wanted, 0) == 0) matches.push_back(i);
  }
  if (!matches.empty()) return last_of_prefix ? matches.back() : matches.front();

  throw ParamError(param, strategy + "." + param + ": unknown block '" + wanted + "'" +
                              did_you_mean(wanted, blocks) + " (blocks: " + join(blocks) + ")");
}

// Applies `strategy`'s `cut_after` parameter: keeps the backbone's blocks up to the one named (a
// name, or a prefix meaning its last block); an empty name keeps every block. An unknown name
// throws tlr::ParamError for "cut_after".
inline void cut_backbone(Backbone& backbone, const std::string& cut_after,
                         const std::string& strategy) {
  if (cut_after.empty()) return;
  const std::vector<std::string> blocks = backbone.blocks();
  backbone.cut_after(blocks[find_block(blocks, cut_after, strategy, "cut_after", true)]);
}

// The batches of a split passed through a frozen backbone (or its frozen leading blocks), batch by
// batch and without autograd: what the trained part of a model sees when its inputs change every
// epoch (augmented images), so they cannot be cached like Cell::features. The backbone runs in the
// mode it is in: frozen keeps it in eval mode; fine_tune's leading blocks follow fit()'s model.
class FrozenFeatureBatches : public Batches {
 public:
  FrozenFeatureBatches(std::shared_ptr<Batches> images, std::shared_ptr<Backbone> backbone)
      : images_(std::move(images)), backbone_(std::move(backbone)) {}
  std::size_t samples() const override { return images_->samples(); }
  void start_epoch(int epoch) override { images_->start_epoch(epoch); }
  bool next(torch::Tensor& inputs, torch::Tensor& labels) override {
    torch::Tensor images;
    if (!images_->next(images, labels)) return false;
    torch::NoGradGuard no_grad;
    inputs = backbone_->forward(images);
    return true;
  }

 private:
  std::shared_ptr<Batches> images_;
  std::shared_ptr<Backbone> backbone_;
};

// The backbone's output shape for the cell's images.
inline std::vector<std::int64_t> features_shape(Cell& cell, Backbone& backbone) {
  return backbone.output_shape(cell.input_shape());
}

// Trains the whole model (backbone and head, every parameter) on images and evaluates it on the
// test split: the `scratch` and `pretrain` strategies.
inline std::shared_ptr<Classifier> train_everything(Cell& cell, bool augment) {
  std::shared_ptr<Backbone> backbone = cell.backbone();
  set_trainable(*backbone, true);
  auto model =
      std::make_shared<Classifier>(backbone, cell.make_head(features_shape(cell, *backbone)));
  set_trainable(*model, true);
  auto train = cell.images(Split::train, augment);
  auto val = cell.images(Split::val, false);
  std::vector<ParamGroup> groups{{"all", model->parameters(), cell.learning_rate()}};
  cell.fit(*model, groups, *train, *val);
  auto test = cell.images(Split::test, false);
  cell.evaluate(*model, *test);
  return model;
}

}  // namespace tlr::strategies
