#include "tlr/backbone.h"

#include <torch/torch.h>

#include "tlr/error.h"

namespace tlr {

Backbone::~Backbone() = default;

std::vector<std::int64_t> Backbone::output_shape(const std::vector<std::int64_t>& chw) {
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  eval();
  std::vector<std::int64_t> input{1};
  input.insert(input.end(), chw.begin(), chw.end());
  torch::Tensor out = forward(torch::zeros(input));
  train(was_training);
  auto sizes = out.sizes().vec();
  sizes.erase(sizes.begin());
  return sizes;
}

SequentialBackbone::~SequentialBackbone() = default;

void SequentialBackbone::add_stage(std::string block, torch::nn::AnyModule module,
                                   std::string prefix) {
  stages_.push_back(Stage{std::move(block), std::move(module), std::move(prefix)});
}

torch::Tensor SequentialBackbone::forward(torch::Tensor images) {
  for (auto& stage : stages_) images = stage.module.forward(images);
  return images;
}

std::vector<std::string> SequentialBackbone::blocks() const {
  std::vector<std::string> names;
  for (const auto& stage : stages_) {
    if (names.empty() || names.back() != stage.block) names.push_back(stage.block);
  }
  return names;
}

std::string SequentialBackbone::block_of(const std::string& tensor_name) const {
  const Stage* best = nullptr;
  for (const auto& stage : stages_) {
    if (!stage.prefix.empty() && tensor_name.rfind(stage.prefix, 0) == 0 &&
        (best == nullptr || stage.prefix.size() > best->prefix.size())) {
      best = &stage;
    }
  }
  return best ? best->block : std::string();
}

void SequentialBackbone::cut_after(const std::string& block) {
  auto last = stages_.end();
  for (auto it = stages_.begin(); it != stages_.end(); ++it) {
    if (it->block == block) last = it + 1;
  }
  if (last == stages_.end() && (stages_.empty() || stages_.back().block != block)) {
    std::string known;
    for (const auto& name : blocks()) known += (known.empty() ? "" : ", ") + name;
    throw Error("unknown block '" + block + "'; blocks: " + known);
  }
  // Tensors of dropped stages stay registered under the root module (harmless: they are never
  // used and a strategy freezes or ignores them), so that weight files still load by name.
  stages_.erase(last, stages_.end());
}

}  // namespace tlr
