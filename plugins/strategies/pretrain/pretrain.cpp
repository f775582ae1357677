// pretrain: the source stage of a transfer experiment. Trains backbone and head on this cell's
// data and evaluates on its test split. Publishing is the plan's job: the model says
// `publish: NAME`, and after it completes the runner publishes its trained backbone under NAME
// for later models' `weights: {published: NAME}`.
#include "common/strategy_support.h"

namespace {

class Pretrain : public tlr::Strategy {
 public:
  explicit Pretrain(const tlr::Params& params) : augment_(params.boolean("augment")) {}

  void run(tlr::Cell& cell) override { tlr::strategies::train_everything(cell, augment_); }

 private:
  bool augment_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "pretrain",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<Pretrain>(params);
      },
      tlr::strategies::strategy_schema({tlr::strategies::kAugmentProperty}),
      "train backbone and head on a source task (give the model `publish: NAME`)");
}

}  // namespace

TLR_PLUGIN("pretrain", "1.0.0", register_components)
