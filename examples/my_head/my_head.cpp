// A complete tlr head plugin: flatten, one hidden dense layer with dropout, then the output layer.
#include <tlr/sdk.h>
#include <torch/torch.h>

namespace {

namespace nn = torch::nn;

class SmallDense : public tlr::Head {
 public:
  SmallDense(int64_t hidden, double dropout) : hidden_(hidden), dropout_(dropout) {}

  // Called once per model with the backbone's output shape (no batch axis) and the number of
  // logits the runner wants; no output activation, the runner picks it with the loss.
  nn::Sequential build(const std::vector<int64_t>& in_shape, int64_t outputs) const override {
    int64_t features = 1;
    for (int64_t d : in_shape) features *= d;
    return nn::Sequential(nn::Flatten(), nn::Linear(features, hidden_), nn::ReLU(),
                          nn::Dropout(dropout_), nn::Linear(hidden_, outputs));
  }

 private:
  int64_t hidden_;
  double dropout_;
};

// The runner checks the YAML against this schema and fills in the defaults, so the factory reads
// every parameter with the one-argument accessors.
constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "hidden": {"type": "integer", "minimum": 1, "default": 64, "description": "hidden units"},
    "dropout": {"type": "number", "minimum": 0, "exclusiveMaximum": 1, "default": 0.2,
                "description": "dropout after the hidden layer (0: none)"}
  }
})json";

void register_components(tlr::Registry& registry) {
  registry.head(
      "small_dense",
      [](const tlr::Params& p, const tlr::Context&) {
        return std::make_unique<SmallDense>(p.integer("hidden"), p.number("dropout"));
      },
      kSchema,
      "flatten, one hidden dense layer with dropout (an example of an out-of-tree plugin)");
}

}  // namespace

TLR_PLUGIN("my_head", "1.0.0", register_components)
