// mobilenet_v2: torchvision's MobileNetV2 feature extractor (`features.0` … `features.18`, inverted
// residuals with `conv.<i>`) with its tensor names, so published weights load by name; the
// classifier (dropout + linear after global pooling) is left to the head.
#include <torch/torch.h>

#include <cmath>

#include "common/backbone_support.h"
#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "width_mult": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
                   "description": "channel multiplier (multiples of 8); published weights need 1"},
    "in_channels": {"type": "integer", "minimum": 1, "default": 3,
                    "description": "channels of the input images"}
  }
})json";

// A Sequential with a plain forward(Tensor), so it can sit inside AnyModule and other Sequentials.
class ChainImpl : public torch::nn::SequentialImpl {
 public:
  using SequentialImpl::SequentialImpl;
  torch::Tensor forward(torch::Tensor x) { return SequentialImpl::forward(x); }
};
TORCH_MODULE(Chain);

// torchvision's _make_divisible: round to the nearest multiple of `divisor`, never below 90%.
std::int64_t make_divisible(double v, std::int64_t divisor = 8) {
  std::int64_t rounded = std::max<std::int64_t>(
      divisor, static_cast<std::int64_t>(v + static_cast<double>(divisor) / 2) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * v) rounded += divisor;
  return rounded;
}

// torchvision's Conv2dNormActivation with BatchNorm and ReLU6: a Sequential "0" conv, "1" BN,
// "2" ReLU6.
Chain conv_bn_relu6(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                    std::int64_t groups) {
  return Chain(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel)
                                     .stride(stride)
                                     .padding((kernel - 1) / 2)
                                     .groups(groups)
                                     .bias(false)),
               torch::nn::BatchNorm2d(out), torch::nn::ReLU6());
}

class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(std::int64_t in, std::int64_t out, std::int64_t stride,
                       std::int64_t expand_ratio)
      : residual_(stride == 1 && in == out) {
    const auto hidden =
        static_cast<std::int64_t>(std::llround(static_cast<double>(in * expand_ratio)));
    torch::nn::Sequential layers;
    if (expand_ratio != 1) layers->push_back(conv_bn_relu6(in, hidden, 1, 1, 1));
    layers->push_back(conv_bn_relu6(hidden, hidden, 3, stride, hidden));
    layers->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(hidden, out, 1).bias(false)));
    layers->push_back(torch::nn::BatchNorm2d(out));
    conv_ = register_module("conv", layers);
  }

  torch::Tensor forward(torch::Tensor x) {
    return residual_ ? x + conv_->forward(x) : conv_->forward(x);
  }

 private:
  bool residual_;
  torch::nn::Sequential conv_{nullptr};
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2 : public tlr::SequentialBackbone {
 public:
  explicit MobileNetV2(const tlr::Params& params) {
    const double width = params.number("width_mult");
    in_channels_ = params.integer("in_channels");
    // t (expansion), c (channels), n (repeats), s (stride of the first repeat).
    static const int kSettings[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                        {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    auto features = register_module("features", torch::nn::Sequential());
    auto add = [&](torch::nn::AnyModule module, std::int64_t channels, bool stride2) {
      const std::string name = "features." + std::to_string(features->size());
      features->push_back(module);
      add_stage(name, module, name + ".");
      shapes_.push_back({channels, stride2});
    };
    std::int64_t channels = make_divisible(32 * width);
    add(torch::nn::AnyModule(conv_bn_relu6(in_channels_, channels, 3, 2, 1)), channels, true);
    for (const auto& setting : kSettings) {
      const std::int64_t out = make_divisible(setting[1] * width);
      for (int i = 0; i < setting[2]; ++i) {
        const std::int64_t stride = i == 0 ? setting[3] : 1;
        add(torch::nn::AnyModule(InvertedResidual(channels, out, stride, setting[0])), out,
            stride == 2);
        channels = out;
      }
    }
    const std::int64_t last = make_divisible(1280 * std::max(1.0, width));
    add(torch::nn::AnyModule(conv_bn_relu6(channels, last, 1, 1, 1)), last, false);
    tlr::backbones::init_like_torchvision(*this);
  }

  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& chw) override {
    if (chw.size() != 3 || chw[0] != in_channels_) {
      throw tlr::Error("mobilenet_v2: error: expects " + std::to_string(in_channels_) +
                       "×H×W inputs");
    }
    std::int64_t c = chw[0], h = chw[1], w = chw[2];
    for (const auto& block : shapes_) {
      c = block.channels;
      if (block.stride2) h = (h - 1) / 2 + 1, w = (w - 1) / 2 + 1;  // 3×3, padding 1, stride 2
    }
    return {c, h, w};
  }

  void cut_after(const std::string& block) override {
    tlr::SequentialBackbone::cut_after(block);
    shapes_.resize(blocks().size());
  }

 private:
  struct BlockShape {
    std::int64_t channels;
    bool stride2;
  };
  std::vector<BlockShape> shapes_;  // one per block, in order
  std::int64_t in_channels_ = 3;
};

void register_components(tlr::Registry& registry) {
  registry.backbone(
      "mobilenet_v2",
      [](const tlr::Params& params, const tlr::Context&) -> std::shared_ptr<tlr::Backbone> {
        return std::make_shared<MobileNetV2>(params);
      },
      kSchema, "torchvision MobileNetV2 features (features.0 … features.18)");
}

}  // namespace

TLR_PLUGIN("mobilenet_v2", "1.0.0", register_components)
