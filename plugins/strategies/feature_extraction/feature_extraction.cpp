// feature_extraction: runs the frozen backbone once per split (features come from the runner's
// feature cache when present) and trains the head on those features (the cats-vs-dogs bottleneck
// features model and vgg16_features.yaml, docs/experiments.md). No augmentation: every epoch sees
// the same features.
#include "common/strategy_support.h"

namespace {

class FeatureExtraction : public tlr::Strategy {
 public:
  explicit FeatureExtraction(const tlr::Params& params) : cut_after_(params.string("cut_after")) {}

  void run(tlr::Cell& cell) override {
    using namespace tlr::strategies;
    std::shared_ptr<tlr::Backbone> backbone = cell.backbone();
    cut_backbone(*backbone, cut_after_, "feature_extraction");
    set_trainable(*backbone, false);
    backbone->eval();
    auto head = cell.make_head(features_shape(cell, *backbone));
    set_trainable(*head, true);
    // Heap-allocated: torch modules may call shared_from_this().
    auto model = std::make_shared<tlr::Classifier>(nullptr, head);
    auto train = cell.features(tlr::Split::train, *backbone);
    auto val = cell.features(tlr::Split::val, *backbone);
    std::vector<tlr::ParamGroup> groups{{"head", head->parameters(), cell.learning_rate()}};
    cell.fit(*model, groups, *train, *val);
    auto test = cell.features(tlr::Split::test, *backbone);
    cell.evaluate(*model, *test);
  }

 private:
  std::string cut_after_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "feature_extraction",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<FeatureExtraction>(params);
      },
      tlr::strategies::strategy_schema({tlr::strategies::kCutAfterProperty}),
      "frozen backbone run once per split (cached features), head trained on features");
}

}  // namespace

TLR_PLUGIN("feature_extraction", "1.0.0", register_components)
