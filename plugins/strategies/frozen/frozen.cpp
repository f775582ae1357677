// frozen: the backbone stays inside the model with every parameter frozen (BatchNorm layers in
// inference mode) and only the head trains, on augmented images (seed 000 model 4).
#include "common/strategy_support.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "augment": {"type": "boolean", "default": true,
                "description": "apply the model's augmenter (if it has one) to the train split"}
  }
})json";

class Frozen : public tlr::Strategy {
 public:
  explicit Frozen(const tlr::Params& params) : augment_(params.boolean("augment", true)) {}

  void run(tlr::Cell& cell) override {
    using namespace tlr::strategies;
    std::shared_ptr<tlr::Backbone> backbone = cell.backbone();
    set_trainable(*backbone, false);
    auto head = cell.make_head(features_shape(cell, *backbone));
    set_trainable(*head, true);
    auto model = std::make_shared<tlr::Classifier>(backbone, head);
    model->freeze_batchnorm = true;
    auto train = cell.images(tlr::Split::train, augment_);
    auto val = cell.images(tlr::Split::val, false);
    std::vector<tlr::ParamGroup> groups{{"head", head->parameters(), cell.learning_rate()}};
    cell.fit(*model, groups, *train, *val);
    auto test = cell.images(tlr::Split::test, false);
    cell.evaluate(*model, *test);
  }

 private:
  bool augment_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "frozen",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<Frozen>(params);
      },
      kSchema, "frozen backbone inside the model, head trained on (augmented) images");
}

}  // namespace

TLR_PLUGIN("frozen", "1.0.0", register_components)
