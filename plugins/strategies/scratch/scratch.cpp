// scratch: trains every parameter of backbone and head on the target images (the cats-vs-dogs
// scratch CNNs, and fruit30's whole-ResNet18 strategies from ImageNet weights and from random
// ones, docs/experiments.md: the backbone's weights are whatever the YAML gives).
#include "common/strategy_support.h"

namespace {

class Scratch : public tlr::Strategy {
 public:
  explicit Scratch(const tlr::Params& params) : augment_(params.boolean("augment")) {}
  void run(tlr::Cell& cell) override { tlr::strategies::train_everything(cell, augment_); }

 private:
  bool augment_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "scratch",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<Scratch>(params);
      },
      tlr::strategies::strategy_schema({tlr::strategies::kAugmentProperty}),
      "train backbone and head together, every parameter trainable");
}

}  // namespace

TLR_PLUGIN("scratch", "1.0.0", register_components)
