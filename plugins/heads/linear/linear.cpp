// linear: torchvision's `fc` replacement. On C×H×W features it first averages over H×W (pool:
// avg, the default, as ResNet's avgpool + fc) or flattens everything (pool: flatten); on flat
// features it is a single Linear. No output activation.
#include <torch/torch.h>

#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "pool": {"type": "string", "enum": ["avg", "flatten"], "default": "avg",
             "description": "C×H×W features: avg (global average pool, as ResNet) or flatten"}
  }
})json";

class LinearHead : public tlr::Head {
 public:
  explicit LinearHead(const tlr::Params& params) : pool_(params.string("pool")) {}

  torch::nn::Sequential build(const std::vector<std::int64_t>& in_shape,
                              std::int64_t outputs) const override {
    torch::nn::Sequential head;
    std::int64_t features = 1;
    if (in_shape.size() == 3 && pool_ == "avg") {
      head->push_back(torch::nn::AdaptiveAvgPool2d(1));
      features = in_shape[0];
    } else {
      for (auto d : in_shape) features *= d;
    }
    head->push_back(torch::nn::Flatten());
    head->push_back(torch::nn::Linear(features, outputs));
    return head;
  }

 private:
  std::string pool_;
};

void register_components(tlr::Registry& registry) {
  registry.head(
      "linear",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Head> {
        return std::make_unique<LinearHead>(params);
      },
      kSchema, "one linear layer (after global average pooling of C×H×W features by default)");
}

}  // namespace

TLR_PLUGIN("linear", "1.0.0", register_components)
