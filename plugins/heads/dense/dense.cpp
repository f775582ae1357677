// dense: the Keras classifier of the cats-vs-dogs models (docs/experiments.md): Flatten →
// [Linear(units) → activation → Dropout(p)]×k → Linear(outputs). No output activation (the runner
// picks sigmoid or softmax with the loss).
#include <torch/torch.h>

#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "units": {"type": "array", "items": {"type": "integer", "minimum": 1}, "default": [512],
              "description": "width of each hidden layer ([] for a single linear layer)"},
    "dropout": {"anyOf": [{"type": "number", "minimum": 0, "exclusiveMaximum": 1},
                          {"type": "array",
                           "items": {"type": "number", "minimum": 0, "exclusiveMaximum": 1}}],
                "default": 0.5,
                "description": "dropout after each hidden layer: one rate or a list; 0: none"},
    "activation": {"type": "string", "enum": ["relu", "none"], "default": "relu",
                   "description": "activation after each hidden layer"},
    "init": {"type": "string", "enum": ["keras", "torch"], "default": "keras",
           "description": "keras: Glorot-uniform weights, zero biases; torch: PyTorch defaults"}
  }
})json";

class DenseHead : public tlr::Head {
 public:
  explicit DenseHead(const tlr::Params& params)
      : units_(params.integers("units")),
        activation_(params.string("activation")),
        keras_init_(params.string("init") == "keras") {
    // The schema bounds units and rates; that a list of rates has one per layer, it cannot say.
    if (params.is_list("dropout")) {
      dropout_ = params.numbers("dropout");
      if (dropout_.size() != units_.size()) {
        throw tlr::Error("dense: error: dropout lists " + std::to_string(dropout_.size()) +
                         " rates for " + std::to_string(units_.size()) + " hidden layers");
      }
    } else {
      dropout_.assign(units_.size(), params.number("dropout"));
    }
  }

  torch::nn::Sequential build(const std::vector<std::int64_t>& in_shape,
                              std::int64_t outputs) const override {
    std::int64_t features = 1;
    for (auto d : in_shape) features *= d;
    torch::nn::Sequential head;
    head->push_back(torch::nn::Flatten());
    auto linear = [&](std::int64_t in, std::int64_t out) {
      torch::nn::Linear layer(in, out);
      if (keras_init_) {
        torch::NoGradGuard no_grad;
        torch::nn::init::xavier_uniform_(layer->weight);
        torch::nn::init::zeros_(layer->bias);
      }
      head->push_back(layer);
    };
    for (std::size_t i = 0; i < units_.size(); ++i) {
      linear(features, units_[i]);
      if (activation_ == "relu") head->push_back(torch::nn::ReLU());
      if (dropout_[i] > 0) head->push_back(torch::nn::Dropout(dropout_[i]));
      features = units_[i];
    }
    linear(features, outputs);
    return head;
  }

 private:
  std::vector<std::int64_t> units_;
  std::vector<double> dropout_;
  std::string activation_;
  bool keras_init_;
};

void register_components(tlr::Registry& registry) {
  registry.head(
      "dense",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Head> {
        return std::make_unique<DenseHead>(params);
      },
      kSchema, "flatten, hidden dense layers with dropout, then the output layer");
}

}  // namespace

TLR_PLUGIN("dense", "1.0.0", register_components)
