// fine_tune: unfreezes the backbone from a named block on (the cats-vs-dogs fine-tune model, VGG16
// from block4_conv1: cats_vs_dogs_vgg16.yaml in docs/experiments.md) and trains it with the head,
// optionally after head-only warm-up epochs (a head should be trained before the backbone is
// unfrozen: multiclass_folder.yaml there) and with a smaller learning rate for the backbone. The
// validation images' output of the frozen blocks before `from` is computed once (feature cache),
// not every epoch.
#include "common/strategy_support.h"

namespace {

// Its own parameters; augment and cut_after are the shared ones (strategy_support.h).
constexpr const char* kOwnProperties = R"json("from": {
      "type": "string", "default": "",
      "description": "first block to train: a name (block4_conv1, layer3) or a prefix (block4)"},
    "last_blocks": {
      "type": "integer", "minimum": 0, "default": 0,
      "description": "train the last N blocks of the backbone; give this or from"},
    "warmup_epochs": {
      "type": "integer", "minimum": 0, "default": 0,
      "description": "head-only epochs (backbone frozen) before unfreezing"},
    "backbone_lr_scale": {
      "type": "number", "exclusiveMinimum": 0, "default": 1,
      "description": "the unfrozen blocks train at the training lr times this"},
    "batchnorm": {
      "type": "string", "enum": ["frozen", "train"], "default": "frozen",
      "description": "frozen: BatchNorm of frozen blocks keeps inference mode; train: all update"},
    "max_cached_mb": {
      "type": "number", "minimum": 0, "default": 1024,
      "description": "cache the frozen blocks' validation output up to this size (MiB); 0: never"}
)json";

class FineTune : public tlr::Strategy {
 public:
  explicit FineTune(const tlr::Params& params)
      : from_(params.string("from")),
        last_blocks_(params.integer("last_blocks")),
        warmup_epochs_(params.integer("warmup_epochs")),
        lr_scale_(params.number("backbone_lr_scale")),
        batchnorm_(params.string("batchnorm")),
        augment_(params.boolean("augment")),
        cut_after_(params.string("cut_after")),
        max_cached_mb_(params.number("max_cached_mb")) {
    // The schema bounds each value; that exactly one of the two is given, it cannot say.
    if (from_.empty() == (last_blocks_ == 0)) {
      throw tlr::Error(
          "fine_tune: give exactly one of 'from' (the first block to train) and 'last_blocks'");
    }
  }

  void run(tlr::Cell& cell) override {
    using namespace tlr::strategies;
    std::shared_ptr<tlr::Backbone> backbone = cell.backbone();
    cut_backbone(*backbone, cut_after_, "fine_tune");
    const std::vector<std::string> blocks = backbone->blocks();
    const std::size_t first = first_trained_block(blocks);

    set_trainable(*backbone, false);
    auto head = cell.make_head(features_shape(cell, *backbone));
    set_trainable(*head, true);
    auto model = std::make_shared<tlr::Classifier>(backbone, head);
    model->freeze_batchnorm = true;

    // What fit() trains. The blocks before `first` never change: frozen weights, and frozen
    // BatchNorm statistics unless batchnorm is "train". So their output for the validation images
    // is the same every epoch: it comes from the feature cache (computed once, when it fits in
    // max_cached_mb), and fit() trains a model of the remaining blocks and the head, sharing their
    // modules with `model`. The training images (augmented, new every epoch) pass through the
    // leading blocks batch by batch, in the mode fit() sets, without autograd (nothing before
    // `first` needs a gradient).
    std::shared_ptr<tlr::Classifier> fitted = model;
    std::shared_ptr<tlr::Batches> train = cell.images(tlr::Split::train, augment_);
    std::shared_ptr<tlr::Batches> val = cell.images(tlr::Split::val, false);
    if (first > 0 && batchnorm_ == "frozen" && backbone->can_forward_blocks()) {
      auto leading =
          std::make_shared<tlr::BackboneBlocks>(backbone, blocks.front(), blocks[first - 1]);
      double values = static_cast<double>(val->samples());
      for (std::int64_t d : leading->output_shape(cell.input_shape())) values *= d;
      if (values * sizeof(float) <= max_cached_mb_ * 1024 * 1024 && max_cached_mb_ > 0) {
        auto rest = std::make_shared<tlr::BackboneBlocks>(backbone, blocks[first], blocks.back());
        fitted = std::make_shared<tlr::Classifier>(rest, head);
        train = std::make_shared<FrozenFeatureBatches>(train, leading);
        val = cell.features(tlr::Split::val, *leading);
      }
    }
    const double lr = cell.learning_rate();

    if (warmup_epochs_ > 0) {
      std::vector<tlr::ParamGroup> head_only{{"head", head->parameters(), lr}};
      cell.fit(*fitted, head_only, *train, *val,
               tlr::FitOverrides{static_cast<int>(warmup_epochs_), "warmup"});
    }

    std::vector<torch::Tensor> unfrozen;
    for (auto& item : backbone->named_parameters()) {
      const std::string block = backbone->block_of(item.key());
      const auto at = std::find(blocks.begin(), blocks.end(), block);
      if (at != blocks.end() && static_cast<std::size_t>(at - blocks.begin()) >= first) {
        item.value().set_requires_grad(true);
        unfrozen.push_back(item.value());
      }
    }
    if (unfrozen.empty()) {
      throw tlr::ParamError(from_.empty() ? "last_blocks" : "from",
                            "fine_tune: blocks " + blocks[first] + " to " + blocks.back() +
                                " have no parameters to train");
    }
    model->freeze_batchnorm = batchnorm_ == "frozen";
    fitted->freeze_batchnorm = model->freeze_batchnorm;
    std::vector<tlr::ParamGroup> groups{
        {"head", head->parameters(), lr},
        {blocks[first] + "\xE2\x80\xA6" + blocks.back(), unfrozen, lr * lr_scale_}};
    cell.fit(*fitted, groups, *train, *val,
             tlr::FitOverrides{-1, warmup_epochs_ > 0 ? "fine-tune" : ""});
    auto test = cell.images(tlr::Split::test, false);
    cell.evaluate(*model, *test);
  }

 private:
  std::size_t first_trained_block(const std::vector<std::string>& blocks) const {
    if (!from_.empty()) return tlr::strategies::find_block(blocks, from_, "fine_tune", "from");
    if (static_cast<std::size_t>(last_blocks_) > blocks.size()) {
      throw tlr::ParamError("last_blocks",
                            "fine_tune.last_blocks: " + std::to_string(last_blocks_) +
                                " blocks asked, the backbone has " + std::to_string(blocks.size()) +
                                " (" + tlr::strategies::join(blocks) + ")");
    }
    return blocks.size() - static_cast<std::size_t>(last_blocks_);
  }

  std::string from_;
  std::int64_t last_blocks_;
  std::int64_t warmup_epochs_;
  double lr_scale_;
  std::string batchnorm_;
  bool augment_;
  std::string cut_after_;
  double max_cached_mb_;
};

void register_components(tlr::Registry& registry) {
  registry.strategy(
      "fine_tune",
      [](const tlr::Params& params, const tlr::Context&) -> std::unique_ptr<tlr::Strategy> {
        return std::make_unique<FineTune>(params);
      },
      tlr::strategies::strategy_schema(
          {kOwnProperties, tlr::strategies::kAugmentProperty, tlr::strategies::kCutAfterProperty}),
      "train the backbone from a named block on, with the head (optional head warm-up)");
}

}  // namespace

TLR_PLUGIN("fine_tune", "1.0.0", register_components)
