#include "tlr/backbone.h"

#include <torch/torch.h>

#include <algorithm>
#include <utility>

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

namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

}  // namespace

bool Backbone::can_forward_blocks() const { return false; }

torch::Tensor Backbone::forward_blocks(torch::Tensor /*x*/, const std::string& first,
                                       const std::string& last) {
  throw Error("this backbone cannot run part of its forward pass (blocks " + first + " to " + last +
              "); it runs only whole");
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
    throw Error("unknown block '" + block + "'; blocks: " + joined(blocks()));
  }
  // Tensors of dropped stages stay registered under the root module (harmless: they are never
  // used and a strategy freezes or ignores them), so that weight files still load by name.
  stages_.erase(last, stages_.end());
}

std::vector<SequentialBackbone::StageView> SequentialBackbone::stage_views() const {
  std::vector<StageView> views;
  views.reserve(stages_.size());
  for (const auto& stage : stages_)
    views.push_back({stage.block, stage.module.ptr(), stage.prefix});
  return views;
}

bool SequentialBackbone::can_forward_blocks() const { return true; }

torch::Tensor SequentialBackbone::forward_blocks(torch::Tensor x, const std::string& first,
                                                 const std::string& last) {
  auto begin = std::find_if(stages_.begin(), stages_.end(),
                            [&](const Stage& stage) { return stage.block == first; });
  auto end = begin;
  for (auto it = begin; it != stages_.end(); ++it) {
    if (it->block == last) end = it + 1;
  }
  if (begin == stages_.end() || end == begin) {
    throw Error("forward_blocks: no block range " + first + " to " + last +
                "; blocks: " + joined(blocks()));
  }
  for (auto it = begin; it != end; ++it) x = it->module.forward(x);
  return x;
}

BackboneBlocks::BackboneBlocks(std::shared_ptr<Backbone> backbone, std::string first,
                               std::string last)
    : backbone_(std::move(backbone)) {
  if (!backbone_) throw Error("BackboneBlocks: no backbone");
  if (!backbone_->can_forward_blocks()) {
    throw Error("BackboneBlocks: this backbone cannot run part of its forward pass");
  }
  const std::vector<std::string> all = backbone_->blocks();
  const auto from = std::find(all.begin(), all.end(), first);
  const auto to = std::find(all.begin(), all.end(), last);
  if (from == all.end() || to == all.end() || to < from) {
    throw Error("BackboneBlocks: no block range " + first + " to " + last +
                "; blocks: " + joined(all));
  }
  blocks_.assign(from, to + 1);
  register_module("backbone", backbone_);
}

BackboneBlocks::~BackboneBlocks() = default;

torch::Tensor BackboneBlocks::forward(torch::Tensor x) {
  return backbone_->forward_blocks(std::move(x), blocks_.front(), blocks_.back());
}

std::vector<std::string> BackboneBlocks::blocks() const { return blocks_; }

std::string BackboneBlocks::block_of(const std::string& tensor_name) const {
  const std::string prefix = "backbone.";
  if (tensor_name.rfind(prefix, 0) != 0) return "";
  std::string block = backbone_->block_of(tensor_name.substr(prefix.size()));
  return std::find(blocks_.begin(), blocks_.end(), block) == blocks_.end() ? "" : block;
}

std::size_t BackboneBlocks::index_of(const std::string& block) const {
  const auto it = std::find(blocks_.begin(), blocks_.end(), block);
  if (it == blocks_.end()) {
    throw Error("unknown block '" + block + "'; blocks: " + joined(blocks_));
  }
  return static_cast<std::size_t>(it - blocks_.begin());
}

void BackboneBlocks::cut_after(const std::string& block) { blocks_.resize(index_of(block) + 1); }

bool BackboneBlocks::can_forward_blocks() const { return true; }

torch::Tensor BackboneBlocks::forward_blocks(torch::Tensor x, const std::string& first,
                                             const std::string& last) {
  if (index_of(last) < index_of(first)) {
    throw Error("forward_blocks: no block range " + first + " to " + last +
                "; blocks: " + joined(blocks_));
  }
  return backbone_->forward_blocks(std::move(x), first, last);
}

}  // namespace tlr
