// gap_linear: AdaptiveAvgPool2d(1) → Flatten → optional Dropout → Linear, the classifier of
// torchvision's MobileNetV2 (dropout 0.2) and ResNet (no dropout). No output activation.
#include <torch/torch.h>

#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "dropout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.0,
                "description": "dropout before the linear layer (0: none; MobileNetV2 uses 0.2)"}
  }
})json";

class GapLinearHead : public tlr::Head {
 public:
  explicit GapLinearHead(const tlr::Params& params) : dropout_(params.number("dropout")) {}

  torch::nn::Sequential build(const std::vector<std::int64_t>& in_shape,
                              std::int64_t outputs) const override {
    if (in_shape.size() != 3) {
      throw tlr::Error("gap_linear: error: needs C×H×W features, got " +
                       std::to_string(in_shape.size()) + " axes (use the dense or linear head)");
    }
    torch::nn::Sequential head(torch::nn::AdaptiveAvgPool2d(1), torch::nn::Flatten());
    if (dropout_ > 0) head->push_back(torch::nn::Dropout(dropout_));
    head->push_back(torch::nn::Linear(in_shape[0], outputs));
    return head;
  }

 private:
  double dropout_;
};

void register_components(tlr::Registry& registry) {
  registry.head(
      "gap_linear",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Head> {
        return std::make_unique<GapLinearHead>(params);
      },
      kSchema, "global average pooling, optional dropout, one linear layer");
}

}  // namespace

TLR_PLUGIN("gap_linear", "1.0.0", register_components)
