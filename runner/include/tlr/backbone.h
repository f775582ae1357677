// A backbone plugin: a feature extractor made of named blocks, in order.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

// Parameter names follow the reference implementation (torchvision's state-dict keys), so that
// published weight files load by name.
class TLR_API Backbone : public torch::nn::Module {
 public:
  ~Backbone() override;

  // images: N×C×H×W float. Returns N×C'×H'×W' features (or N×D).
  virtual torch::Tensor forward(torch::Tensor images) = 0;
  // Ordered block names: the units a strategy may cut after or unfreeze from
  // (e.g. "block4_conv1", "layer3").
  virtual std::vector<std::string> blocks() const = 0;
  // The block a parameter or buffer (by its full name) belongs to.
  virtual std::string block_of(const std::string& tensor_name) const = 0;
  // Drops every block after `block`; forward then returns that block's output.
  virtual void cut_after(const std::string& block) = 0;
  // Output shape (without the batch axis) for an input of shape C×H×W. The default runs a
  // dry forward pass on zeros.
  virtual std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& chw);
  // Runs blocks `first` to `last` (names from blocks(), inclusive) on `x`, the output of the block
  // before `first` (the images when `first` is the first block). This is what lets a strategy
  // compute the output of frozen leading blocks once and cache it (fine_tune does, for the
  // validation images). A backbone that cannot run part of its forward pass keeps the defaults:
  // can_forward_blocks() false, forward_blocks() throws tlr::Error.
  virtual bool can_forward_blocks() const;
  virtual torch::Tensor forward_blocks(torch::Tensor x, const std::string& first,
                                       const std::string& last);
};

// A backbone that is a chain of stages, each a module under a parameter-name prefix. Most backbones
// need only the constructor and add_stage() calls:
//   auto conv = register_module("conv1", torch::nn::Conv2d(...));
//   add_stage("conv1", torch::nn::AnyModule(conv), "conv1.");
class TLR_API SequentialBackbone : public Backbone {
 public:
  ~SequentialBackbone() override;
  torch::Tensor forward(torch::Tensor images) override;
  std::vector<std::string> blocks() const override;
  std::string block_of(const std::string& tensor_name) const override;
  void cut_after(const std::string& block) override;
  bool can_forward_blocks() const override;
  torch::Tensor forward_blocks(torch::Tensor x, const std::string& first,
                               const std::string& last) override;

  // One stage as forward() runs it: what `runner export` describes to rebuild the backbone in
  // Python. The module is shared with the backbone (valid while it lives).
  struct StageView {
    std::string block;
    std::shared_ptr<torch::nn::Module> module;
    std::string prefix;
  };
  // The stages in forward order (after any cut_after). Non-virtual: no ABI change.
  std::vector<StageView> stage_views() const;

 protected:
  // `prefix` is how the names of this stage's tensors start (e.g. "features.0." or "layer3.");
  // an empty prefix adds a stage with no tensors (an activation, a pool).
  void add_stage(std::string block, torch::nn::AnyModule module, std::string prefix);

 private:
  struct Stage {
    std::string block;
    torch::nn::AnyModule module;
    std::string prefix;
  };
  std::vector<Stage> stages_;
};

// Blocks `first` to `last` of another backbone as a backbone of their own, sharing its modules
// (registered as the child "backbone", so parameters and training mode are the shared ones):
//   BackboneBlocks rest(backbone, "block4_conv1", "block5_pool");  // input: block3_pool's output
// The backbone must be able to run part of its forward pass (can_forward_blocks()).
class TLR_API BackboneBlocks : public Backbone {
 public:
  // Throws tlr::Error when a name is not a block of `backbone`, `last` comes before `first`, or
  // the backbone cannot run part of its forward pass.
  BackboneBlocks(std::shared_ptr<Backbone> backbone, std::string first, std::string last);
  ~BackboneBlocks() override;
  torch::Tensor forward(torch::Tensor x) override;
  std::vector<std::string> blocks() const override;
  // `tensor_name` as named under this module ("backbone." + the backbone's own name); empty for
  // tensors outside the range.
  std::string block_of(const std::string& tensor_name) const override;
  void cut_after(const std::string& block) override;  // within the range
  bool can_forward_blocks() const override;
  torch::Tensor forward_blocks(torch::Tensor x, const std::string& first,
                               const std::string& last) override;

 private:
  std::size_t index_of(const std::string& block) const;  // within the range; throws
  std::shared_ptr<Backbone> backbone_;
  std::vector<std::string> blocks_;  // the range
};

}  // namespace tlr
