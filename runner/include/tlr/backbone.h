// A backbone plugin: a feature extractor made of named blocks, in order.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/any.h>

#include <cstdint>
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

}  // namespace tlr
