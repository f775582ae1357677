// frozen: the backbone stays inside the model with every parameter frozen (BatchNorm layers in
// inference mode) and only the head trains, on augmented images (the cats-vs-dogs frozen-VGG16
// model, docs/experiments.md).
//
// What a frozen backbone allows: the validation and test images are never augmented, so their
// features are the same every epoch and come from the runner's feature cache (computed once);
// the augmented training images go through the backbone batch by batch without autograd. The
// model saved at the end is the whole classifier, backbone and head.
#include "common/strategy_support.h"

namespace {

class Frozen : public tlr::Strategy {
 public:
  explicit Frozen(const tlr::Params& params)
      : augment_(params.boolean("augment")), cut_after_(params.string("cut_after")) {}

  void run(tlr::Cell& cell) override {
    using namespace tlr::strategies;
    std::shared_ptr<tlr::Backbone> backbone = cell.backbone();
    cut_backbone(*backbone, cut_after_, "frozen");
    set_trainable(*backbone, false);
    backbone->eval();
    auto head = cell.make_head(features_shape(cell, *backbone));
    set_trainable(*head, true);

    // The head trains on features: computed per batch for the (augmented) train split, cached
    // for validation. It shares its modules with `model`, so the best weights fit() keeps are
    // the model's.
    auto head_only = std::make_shared<tlr::Classifier>(nullptr, head);
    FrozenFeatureBatches train(cell.images(tlr::Split::train, augment_), backbone);
    auto val = cell.features(tlr::Split::val, *backbone);
    std::vector<tlr::ParamGroup> groups{{"head", head->parameters(), cell.learning_rate()}};
    cell.fit(*head_only, groups, train, *val);

    auto model = std::make_shared<tlr::Classifier>(backbone, head);
    model->freeze_batchnorm = true;
    auto test = cell.images(tlr::Split::test, false);
    cell.evaluate(*model, *test);
  }

 private:
  bool augment_;
  std::string cut_after_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "frozen",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<Frozen>(params);
      },
      tlr::strategies::strategy_schema(
          {tlr::strategies::kAugmentProperty, tlr::strategies::kCutAfterProperty}),
      "frozen backbone inside the model, head trained on (augmented) images");
}

}  // namespace

TLR_PLUGIN("frozen", "1.0.0", register_components)
