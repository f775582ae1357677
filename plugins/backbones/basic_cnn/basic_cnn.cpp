// basic_cnn: the Keras scratch CNN of the cats-vs-dogs comparison (cats_vs_dogs_vgg16.yaml,
// docs/experiments.md): per block Conv(k×k, ReLU) then MaxPool(2×2).
// Blocks "block1_conv", "block1_pool", ...; tensors "block1_conv.weight" / ".bias".
#include <torch/torch.h>

#include <cmath>

#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "widths": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1,
               "default": [16, 64, 128],
               "description": "channels of each conv block; [16, 64, 128, 128]: 4 blocks"},
    "kernel_size": {"type": "integer", "minimum": 1, "default": 3,
                    "description": "square kernel size of every convolution"},
    "padding": {"type": "string", "enum": ["valid", "same"], "default": "valid",
                "description": "Keras conv padding: valid (none) or same (odd kernels)"},
    "in_channels": {"type": "integer", "minimum": 1, "default": 3,
                    "description": "channels of the input images"},
    "init": {"type": "string", "enum": ["keras", "torch"], "default": "keras",
             "description": "keras: Glorot-uniform weights, zero biases; torch: PyTorch defaults"}
  }
})json";

class BasicCnn : public tlr::SequentialBackbone {
 public:
  explicit BasicCnn(const tlr::Params& params)
      : widths_(params.integers("widths")),
        kernel_(params.integer("kernel_size")),
        same_(params.string("padding") == "same"),
        in_channels_(params.integer("in_channels")) {
    // The schema bounds every value; an even kernel with 'same' padding it cannot refuse.
    if (same_ && kernel_ % 2 == 0) {
      throw tlr::Error("basic_cnn: error: kernel_size must be odd with 'same' padding");
    }
    const bool keras_init = params.string("init") == "keras";
    std::int64_t channels = in_channels_;
    for (std::size_t i = 0; i < widths_.size(); ++i) {
      const std::string block = "block" + std::to_string(i + 1);
      auto conv = register_module(
          block + "_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, widths_[i], kernel_)
                                                 .padding(same_ ? kernel_ / 2 : 0)));
      if (keras_init) {
        torch::NoGradGuard no_grad;
        torch::nn::init::xavier_uniform_(conv->weight);
        torch::nn::init::zeros_(conv->bias);
      }
      add_stage(block + "_conv", torch::nn::AnyModule(conv), block + "_conv.");
      add_stage(block + "_conv", torch::nn::AnyModule(torch::nn::ReLU(true)), "");
      add_stage(block + "_pool", torch::nn::AnyModule(torch::nn::MaxPool2d(2)), "");
      channels = widths_[i];
    }
    kept_ = static_cast<int>(widths_.size()) * 2;
  }

  void cut_after(const std::string& block) override {
    tlr::SequentialBackbone::cut_after(block);
    kept_ = static_cast<int>(blocks().size());
  }

  // Computed, not measured: also says which block an input is too small for.
  std::vector<std::int64_t> output_shape(const std::vector<std::int64_t>& chw) override {
    if (chw.size() != 3 || chw[0] != in_channels_) {
      throw tlr::Error("basic_cnn: error: expects " + std::to_string(in_channels_) + "×H×W inputs");
    }
    std::int64_t h = chw[1], w = chw[2], c = chw[0];
    for (int stage = 0; stage < kept_; ++stage) {
      const std::size_t i = static_cast<std::size_t>(stage / 2);
      const std::string block = "block" + std::to_string(i + 1);
      if (stage % 2 == 0) {
        if (!same_) h -= kernel_ - 1, w -= kernel_ - 1;
        c = widths_[i];
        if (h < 1 || w < 1) {
          throw tlr::Error("basic_cnn: error: input " + std::to_string(chw[1]) + "×" +
                           std::to_string(chw[2]) + " is too small: " + block +
                           "_conv gets less than its kernel");
        }
      } else {
        h /= 2, w /= 2;
        if (h < 1 || w < 1) {
          throw tlr::Error("basic_cnn: error: input " + std::to_string(chw[1]) + "×" +
                           std::to_string(chw[2]) + " is too small: " + block +
                           "_pool gets 1 pixel");
        }
      }
    }
    return {c, h, w};
  }

 private:
  std::vector<std::int64_t> widths_;
  std::int64_t kernel_;
  bool same_;
  std::int64_t in_channels_;
  int kept_ = 0;
};

void register_components(tlr::Registry& registry) {
  registry.backbone(
      "basic_cnn",
      [](const tlr::Params& params, const tlr::Context&) -> std::shared_ptr<tlr::Backbone> {
        return std::make_shared<BasicCnn>(params);
      },
      kSchema, "the cats-vs-dogs scratch CNN: conv(3×3, relu) + max-pool(2×2) blocks");
}

}  // namespace

TLR_PLUGIN("basic_cnn", "1.0.0", register_components)
