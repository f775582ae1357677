// pretrain: the source stage of a transfer experiment. Trains backbone and head on this cell's
// data and evaluates on its test split. Publishing is the plan's job: the model says
// `publish: NAME`, and after it completes the runner publishes its trained backbone under NAME
// for later models' `weights: {published: NAME}`.
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
      kSchema, "train backbone and head on a source task (give the model `publish: NAME`)");
}

}  // namespace

TLR_PLUGIN("pretrain", "1.0.0", register_components)
