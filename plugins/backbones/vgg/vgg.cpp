// vgg: torchvision's VGG feature extractor (vgg11/13/16/19, with or without batch norm), tensors
// named as torchvision's `features.<i>.*` so its published weights load by name; blocks named as
// Keras' VGG ("block1_conv1", ..., "block5_pool"), each conv block with its BatchNorm and ReLU.
#include <torch/torch.h>

#include <cmath>
#include <map>

#include "common/backbone_support.h"
#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "variant": {"type": "string", "enum": ["vgg11", "vgg13", "vgg16", "vgg19"], "default": "vgg16",
                "description": "depth: vgg11, vgg13, vgg16 or vgg19 (configurations A, B, D, E)"},
    "batch_norm": {"type": "boolean", "default": false,
                   "description": "BatchNorm after every convolution (torchvision's vgg*_bn)"},
    "width": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
            "description":
              "channels × width (rounded, ≥ 1) for small CPU models; 1 for published weights"},
    "in_channels": {"type": "integer", "minimum": 1, "default": 3,
                    "description": "channels of the input images"}
  }
})json";

// Output channels per stage; 0 is a max-pool (torchvision's "M"). The schema's enum admits only
// these variants.
const std::vector<int>& configuration(const std::string& variant) {
  static const std::map<std::string, std::vector<int>> kConfigs = {
      {"vgg11", {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
      {"vgg13", {64, 64, 0, 128, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0}},
      {"vgg16", {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}},
      {"vgg19", {64,  64,  0,   128, 128, 0,   256, 256, 256, 256, 0,
                 512, 512, 512, 512, 0,   512, 512, 512, 512, 0}},
  };
  return kConfigs.at(variant);
}

class Vgg : public tlr::SequentialBackbone {
 public:
  explicit Vgg(const tlr::Params& params) {
    const auto& config = configuration(params.string("variant"));
    const bool batch_norm = params.boolean("batch_norm");
    const double width = params.number("width");
    const std::int64_t in_channels = params.integer("in_channels");

    auto features = register_module("features", torch::nn::Sequential());
    std::int64_t channels = in_channels;
    int stage = 1, conv = 1;
    auto add = [&](const std::string& block, torch::nn::AnyModule module, bool has_tensors) {
      const std::string prefix = "features." + std::to_string(features->size()) + ".";
      features->push_back(module);
      add_stage(block, module, has_tensors ? prefix : "");
    };
    for (int out : config) {
      const std::string block_prefix = "block" + std::to_string(stage) + "_";
      if (out == 0) {
        add(block_prefix + "pool", torch::nn::AnyModule(torch::nn::MaxPool2d(2)), false);
        shapes_.push_back({channels, true});
        ++stage;
        conv = 1;
        continue;
      }
      const auto width_out = std::max<std::int64_t>(1, std::llround(out * width));
      const std::string block = block_prefix + "conv" + std::to_string(conv++);
      add(block,
          torch::nn::AnyModule(
              torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, width_out, 3).padding(1))),
          true);
      if (batch_norm) add(block, torch::nn::AnyModule(torch::nn::BatchNorm2d(width_out)), true);
      add(block, torch::nn::AnyModule(torch::nn::ReLU(true)), false);
      channels = width_out;
      shapes_.push_back({channels, false});
    }
    tlr::backbones::init_like_torchvision(*this);
    in_channels_ = in_channels;
  }

  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& chw) override {
    if (chw.size() != 3 || chw[0] != in_channels_) {
      throw tlr::Error("vgg: error: expects " + std::to_string(in_channels_) + "×H×W inputs");
    }
    if (chw[1] < 32 || chw[2] < 32) {
      throw tlr::Error("vgg: error: input " + std::to_string(chw[1]) + "×" +
                       std::to_string(chw[2]) + " is too small; VGG needs at least 32×32");
    }
    std::int64_t c = chw[0], h = chw[1], w = chw[2];
    for (const auto& block : shapes_) {
      c = block.channels;
      if (block.pool) h /= 2, w /= 2;
    }
    return {c, h, w};
  }

  void cut_after(const std::string& block) override {
    tlr::SequentialBackbone::cut_after(block);
    shapes_.resize(blocks().size());
  }

 private:
  struct BlockShape {
    std::int64_t channels;  // output channels
    bool pool;              // halves height and width
  };
  std::vector<BlockShape> shapes_;  // one per block, in order
  std::int64_t in_channels_ = 3;
};

void register_components(tlr::Registry& registry) {
  registry.backbone(
      "vgg",
      [](const tlr::Params& params, const tlr::Context&) -> std::shared_ptr<tlr::Backbone> {
        return std::make_shared<Vgg>(params);
      },
      kSchema, "torchvision VGG features (vgg11/13/16/19, optional batch norm, width multiplier)");
}

}  // namespace

TLR_PLUGIN("vgg", "1.0.0", register_components)
