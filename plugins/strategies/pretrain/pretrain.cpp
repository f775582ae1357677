// pretrain: the source stage of a transfer experiment. Trains backbone and head on this cell's
// data, evaluates on its test split, then publishes the backbone's weights under a name that
// later models load with `weights: {published: <name>}`.
#include "common/strategy_support.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "required": ["publish"],
  "properties": {
    "publish": {"type": "string", "minLength": 1,
                "description": "name under which later models find the trained backbone weights"},
    "augment": {"type": "boolean", "default": true,
                "description": "apply the model's augmenter (if it has one) to the train split"}
  }
})json";

class Pretrain : public tlr::Strategy {
 public:
  explicit Pretrain(const tlr::Params& params)
      : publish_(params.string("publish", "")), augment_(params.boolean("augment", true)) {
    if (publish_.empty()) {
      throw tlr::Error("pretrain.publish: a name is required for the trained backbone weights");
    }
  }

  void run(tlr::Cell& cell) override {
    auto model = tlr::strategies::train_everything(cell, augment_);
    cell.publish_weights(publish_, *model->backbone);
  }

 private:
  std::string publish_;
  bool augment_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "pretrain",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<Pretrain>(params);
      },
      kSchema, "train backbone and head on a source task, then publish the backbone's weights");
}

}  // namespace

TLR_PLUGIN("pretrain", "1.0.0", register_components)
