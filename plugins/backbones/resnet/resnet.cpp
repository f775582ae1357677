// resnet: torchvision's ResNet trunk (conv1, bn1, relu, maxpool, layer1..layer4) with its tensor
// names, so published weights load by name; avgpool and fc are left to the head.
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
    "variant": {"type": "string",
                "enum": ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"],
                "default": "resnet18",
                "description": "depth: resnet18/34 (BasicBlock) or resnet50/101/152 (Bottleneck)"},
    "width": {"type": "number", "exclusiveMinimum": 0, "default": 1.0,
            "description":
              "channels × width (rounded, ≥ 1) for small CPU models; 1 for published weights"},
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

torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                       std::int64_t stride) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

// torchvision's BasicBlock (expansion 1) and Bottleneck (expansion 4, stride on the 3×3 conv:
// "ResNet v1.5"), in one module so the layers are plain Sequentials of it.
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(bool bottleneck, std::int64_t in, std::int64_t planes, std::int64_t stride)
      : bottleneck_(bottleneck) {
    const std::int64_t out = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
      conv1_ = register_module("conv1", conv(in, planes, 1, 1));
      bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, stride));
      bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
      conv3_ = register_module("conv3", conv(planes, out, 1, 1));
      bn3_ = register_module("bn3", torch::nn::BatchNorm2d(out));
    } else {
      conv1_ = register_module("conv1", conv(in, planes, 3, stride));
      bn1_ = register_module("bn1", torch::nn::BatchNorm2d(planes));
      conv2_ = register_module("conv2", conv(planes, planes, 3, 1));
      bn2_ = register_module("bn2", torch::nn::BatchNorm2d(planes));
    }
    if (stride != 1 || in != out) {
      downsample_ = register_module(
          "downsample",
          torch::nn::Sequential(conv(in, out, 1, stride), torch::nn::BatchNorm2d(out)));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor identity = downsample_ ? downsample_->forward(x) : x;
    torch::Tensor out = torch::relu(bn1_->forward(conv1_->forward(x)));
    out = bn2_->forward(conv2_->forward(out));
    if (bottleneck_) out = bn3_->forward(conv3_->forward(torch::relu(out)));
    return torch::relu(out + identity);
  }

  // torchvision's zero_init_residual=False default leaves the last BN at weight 1.
 private:
  bool bottleneck_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(ResidualBlock);

struct Layout {
  bool bottleneck;
  std::vector<int> blocks;
};

// The schema's enum admits only these variants.
const Layout& layout(const std::string& variant) {
  static const std::map<std::string, Layout> kLayouts = {
      {"resnet18", {false, {2, 2, 2, 2}}},  {"resnet34", {false, {3, 4, 6, 3}}},
      {"resnet50", {true, {3, 4, 6, 3}}},   {"resnet101", {true, {3, 4, 23, 3}}},
      {"resnet152", {true, {3, 8, 36, 3}}},
  };
  return kLayouts.at(variant);
}

class ResNet : public tlr::SequentialBackbone {
 public:
  explicit ResNet(const tlr::Params& params) {
    const Layout& shape = layout(params.string("variant"));
    const double width = params.number("width");
    in_channels_ = params.integer("in_channels");
    auto scaled = [width](std::int64_t c) {
      return std::max<std::int64_t>(1, std::llround(static_cast<double>(c) * width));
    };
    std::int64_t channels = scaled(64);
    auto conv1 = register_module("conv1", conv(in_channels_, channels, 7, 2));
    auto bn1 = register_module("bn1", torch::nn::BatchNorm2d(channels));
    add_stage("conv1", torch::nn::AnyModule(conv1), "conv1.");
    add_stage("bn1", torch::nn::AnyModule(bn1), "bn1.");
    add_stage("relu", torch::nn::AnyModule(torch::nn::ReLU(true)), "");
    add_stage("maxpool",
              torch::nn::AnyModule(
                  torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(3).stride(2).padding(1))),
              "");
    shapes_ = {{channels, true}, {channels, false}, {channels, false}, {channels, true}};
    for (int i = 0; i < 4; ++i) {
      const std::int64_t planes = scaled(64 << i);
      Chain layer;
      for (int b = 0; b < shape.blocks[static_cast<std::size_t>(i)]; ++b) {
        const std::int64_t stride = (i > 0 && b == 0) ? 2 : 1;
        layer->push_back(ResidualBlock(shape.bottleneck, channels, planes, stride));
        channels = shape.bottleneck ? planes * 4 : planes;
      }
      const std::string name = "layer" + std::to_string(i + 1);
      register_module(name, layer);
      add_stage(name, torch::nn::AnyModule(layer), name + ".");
      shapes_.push_back({channels, i > 0});
    }
    tlr::backbones::init_like_torchvision(*this);
  }

  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& chw) override {
    if (chw.size() != 3 || chw[0] != in_channels_) {
      throw tlr::Error("resnet: error: expects " + std::to_string(in_channels_) + "×H×W inputs");
    }
    std::int64_t c = chw[0], h = chw[1], w = chw[2];
    for (const auto& block : shapes_) {
      c = block.channels;
      // Every stride-2 step here (7×7/3, 3×3/1 max-pool and convs, 1×1/0) maps n to (n-1)/2+1.
      if (block.stride2) h = (h - 1) / 2 + 1, w = (w - 1) / 2 + 1;
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
    bool stride2;           // halves height and width (rounding up)
  };
  std::vector<BlockShape> shapes_;  // one per block, in order
  std::int64_t in_channels_ = 3;
};

void register_components(tlr::Registry& registry) {
  registry.backbone(
      "resnet",
      [](const tlr::Params& params, const tlr::Context&) -> std::shared_ptr<tlr::Backbone> {
        return std::make_shared<ResNet>(params);
      },
      kSchema, "torchvision ResNet trunk (resnet18/34/50/101/152) without avgpool and fc");
}

}  // namespace

TLR_PLUGIN("resnet", "1.0.0", register_components)
