// Each bundled strategy plugin, loaded from its .so, run on a fake cell whose fit/evaluate use the
// real trainer: what trains, what stays frozen, which data it asks for.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "support/bundled_plugins.h"
#include "support/plugin_params.h"
#include "tlr/sdk.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

using testing::changed;
using testing::FakeCell;
using testing::state_of;

// Loads libtlr_strategy_<name>.so once per process with the runner's PluginLoader (never
// unloaded, as the runner does).
Registry& registry_with(const std::string& name) {
  return testing::bundled_registry("tlr_strategy_" + name);
}

// `params` with the schema defaults filled in, as in a run.
std::unique_ptr<Strategy> make(const std::string& name, const Params& params) {
  const Registry& registry = registry_with(name);
  return registry.make_strategy(
      name, testing::with_defaults(registry, Kind::strategy, name, params.json()), Context{});
}

std::vector<std::string> starting_with(const std::vector<std::string>& names,
                                       const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    if (n.rfind(prefix, 0) == 0) out.push_back(n);
  }
  return out;
}

class StrategyTest : public ::testing::Test {
 protected:
  void SetUp() override { torch::set_num_threads(2); }
};

TEST_F(StrategyTest, EveryStrategyDescribesItsParameters) {
  for (const std::string name :
       {"scratch", "feature_extraction", "frozen", "fine_tune", "pretrain"}) {
    const ComponentInfo* info = registry_with(name).find(Kind::strategy, name);
    ASSERT_NE(info, nullptr) << name;
    const Params schema = Params::from_json(info->schema);
    const Params properties = schema.child("properties");
    EXPECT_FALSE(properties.keys().empty()) << name;
    for (const auto& key : properties.keys()) {
      const Params p = properties.child(key);
      EXPECT_TRUE(p.has("type")) << name << "." << key;
      EXPECT_TRUE(p.has("description")) << name << "." << key;
      if (key != "publish") {
        EXPECT_TRUE(p.has("default")) << name << "." << key;
      }
    }
    EXPECT_FALSE(info->summary.empty()) << name;
  }
}

TEST_F(StrategyTest, SharedParametersReadTheSameInEveryStrategy) {
  auto property = [](const std::string& strategy, const std::string& key) {
    const ComponentInfo* info = registry_with(strategy).find(Kind::strategy, strategy);
    return nlohmann::json::parse(info->schema).at("properties").at(key);
  };
  for (const std::string name : {"frozen", "fine_tune", "pretrain"}) {
    EXPECT_EQ(property(name, "augment"), property("scratch", "augment")) << name;
  }
  for (const std::string name : {"frozen", "fine_tune"}) {
    EXPECT_EQ(property(name, "cut_after"), property("feature_extraction", "cut_after")) << name;
  }
  EXPECT_EQ(property("scratch", "augment")["default"], true);
  EXPECT_EQ(property("feature_extraction", "cut_after")["default"], "");
}

TEST_F(StrategyTest, ScratchTrainsEveryParameterOnAugmentedImages) {
  auto strategy = make("scratch", Params());
  FakeCell cell{Params()};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  ASSERT_EQ(cell.fit_calls.size(), 1u);
  const auto& fit = cell.fit_calls[0];
  EXPECT_EQ(fit.group_names, (std::vector<std::string>{"all"}));
  EXPECT_EQ(fit.group_lrs, (std::vector<double>{1e-2}));
  const auto moved = changed(before, fit.backbone_after);
  for (const std::string block : {"block1.", "block2."}) {
    for (const std::string tensor : {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean"}) {
      EXPECT_NE(std::find(moved.begin(), moved.end(), block + tensor), moved.end())
          << block + tensor;
    }
  }
  for (const auto& p : cell.the_backbone()->parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_EQ(cell.image_calls.front(), std::make_pair(Split::train, true));
  EXPECT_TRUE(cell.feature_splits.empty());
  EXPECT_EQ(cell.evaluations, 1);
  EXPECT_EQ(cell.evaluation.samples, 32);
  EXPECT_EQ(cell.head_in_shape, (std::vector<std::int64_t>{8, 4, 4}));
}

TEST_F(StrategyTest, FeatureExtractionTrainsTheHeadOnCachedFeatures) {
  auto strategy = make("feature_extraction", Params());
  FakeCell cell{Params()};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  EXPECT_TRUE(changed(before, state_of(*cell.the_backbone())).empty());
  EXPECT_EQ(cell.feature_splits, (std::vector<Split>{Split::train, Split::val, Split::test}));
  EXPECT_TRUE(cell.image_calls.empty());
  ASSERT_EQ(cell.fit_calls.size(), 1u);
  EXPECT_FALSE(cell.fit_calls[0].had_backbone);
  EXPECT_EQ(cell.fit_calls[0].group_names, (std::vector<std::string>{"head"}));
  EXPECT_EQ(cell.evaluations, 1);
}

TEST_F(StrategyTest, FeatureExtractionCutsAfterANamedBlock) {
  auto strategy = make("feature_extraction", Params::from_json(R"({"cut_after": "block1"})"));
  FakeCell cell{Params()};
  strategy->run(cell);
  EXPECT_EQ(cell.head_in_shape, (std::vector<std::int64_t>{4, 4, 4}));
  EXPECT_EQ(cell.the_backbone()->blocks(), (std::vector<std::string>{"block1_conv1"}));
}

TEST_F(StrategyTest, FeatureExtractionNamesTheBlocksOfAnUnknownCut) {
  auto strategy = make("feature_extraction", Params::from_json(R"({"cut_after": "blok2_conv"})"));
  FakeCell cell{Params()};
  try {
    strategy->run(cell);
    FAIL() << "no error";
  } catch (const ParamError& e) {  // reported where cut_after was written
    EXPECT_EQ(e.param(), "cut_after");
    EXPECT_STREQ(e.what(),
                 "feature_extraction.cut_after: unknown block 'blok2_conv'; did you mean "
                 "'block2_conv1'? (blocks: block1_conv1, block2_conv1)");
  }
}

TEST_F(StrategyTest, FrozenTrainsOnlyTheHeadOnAugmentedImagesThroughTheFrozenBackbone) {
  auto strategy = make("frozen", Params());
  FakeCell cell{Params()};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  ASSERT_EQ(cell.fit_calls.size(), 1u);
  // The head trains on features: the train images (augmented) pass through the frozen backbone
  // batch by batch, validation features come from the cache.
  EXPECT_FALSE(cell.fit_calls[0].had_backbone);
  EXPECT_EQ(cell.fit_calls[0].group_names, (std::vector<std::string>{"head"}));
  EXPECT_EQ(cell.image_calls,
            (std::vector<std::pair<Split, bool>>{{Split::train, true}, {Split::test, false}}));
  EXPECT_EQ(cell.feature_splits, (std::vector<Split>{Split::val}));
  EXPECT_TRUE(changed(before, state_of(*cell.the_backbone())).empty());  // BN stats included
  EXPECT_EQ(cell.fit_calls[0].result.epochs, 2);
  EXPECT_EQ(cell.evaluations, 1);
}

TEST_F(StrategyTest, FrozenAndFineTuneCutAfterANamedBlock) {
  for (const std::string name : {"frozen", "fine_tune"}) {
    auto strategy = make(
        name, Params::from_json(name == "frozen" ? R"({"cut_after": "block1"})"
                                                 : R"({"cut_after": "block1", "from": "block1"})"));
    FakeCell cell{Params()};
    strategy->run(cell);
    EXPECT_EQ(cell.head_in_shape, (std::vector<std::int64_t>{4, 4, 4})) << name;
    EXPECT_EQ(cell.the_backbone()->blocks(), (std::vector<std::string>{"block1_conv1"})) << name;
  }
}

TEST_F(StrategyTest, FineTuneTrainsOnlyTheBlocksFromTheNamedOneOn) {
  auto strategy = make("fine_tune", Params::from_json(R"({"from": "block2"})"));
  FakeCell cell{Params()};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  ASSERT_EQ(cell.fit_calls.size(), 1u);
  const auto& fit = cell.fit_calls[0];
  EXPECT_EQ(fit.overrides.phase, "");
  EXPECT_EQ(fit.group_names, (std::vector<std::string>{"head",
                                                       "block2_conv1\xE2\x80\xA6"
                                                       "block2_conv1"}));
  const auto moved = changed(before, fit.backbone_after);
  EXPECT_TRUE(starting_with(moved, "block1.").empty());  // weights and BN running stats
  for (const std::string name : {"block2.conv.weight", "block2.bn.weight", "block2.bn.bias",
                                 "block2.bn.running_mean", "block2.bn.running_var"}) {
    EXPECT_NE(std::find(moved.begin(), moved.end(), name), moved.end()) << name;
  }
}

TEST_F(StrategyTest, FineTuneComputesTheFrozenLeadingBlocksOfValidationImagesOnce) {
  auto strategy = make("fine_tune", Params::from_json(R"({"from": "block2"})"));
  FakeCell cell{Params()};
  strategy->run(cell);
  // Validation: block1's output from the feature cache; fit() trains block2 and the head on it.
  EXPECT_EQ(cell.feature_splits, (std::vector<Split>{Split::val}));
  ASSERT_EQ(cell.fit_calls.size(), 1u);
  EXPECT_EQ(cell.fit_calls[0].fitted_blocks, (std::vector<std::string>{"block2_conv1"}));
  EXPECT_EQ(cell.evaluations, 1);  // the whole model, on test images
}

// block1's output for the 32 validation images is 32 × 4×4×4 floats = 8 KiB: over a 0.005 MiB
// budget (and at 0) the whole model runs on the validation images every epoch.
TEST_F(StrategyTest, FineTuneRecomputesValidationOutputsLargerThanMaxCachedMb) {
  for (const char* limit : {"0.005", "0"}) {
    auto strategy = make("fine_tune", Params::from_json(std::string(R"({"from": "block2", )") +
                                                        R"("max_cached_mb": )" + limit + "}"));
    FakeCell cell{Params()};
    strategy->run(cell);
    EXPECT_TRUE(cell.feature_splits.empty()) << limit;
    EXPECT_EQ(cell.fit_calls[0].fitted_blocks.size(), 2u) << limit;
  }
  auto fits = make("fine_tune", Params::from_json(R"({"from": "block2", "max_cached_mb": 0.01})"));
  FakeCell cell{Params()};
  fits->run(cell);
  EXPECT_EQ(cell.feature_splits, (std::vector<Split>{Split::val}));
}

// The cached path trains exactly what the plain one does (same seed, same batches): a backbone
// that runs only whole takes the plain path.
TEST_F(StrategyTest, FineTuneWithCachedLeadingBlocksTrainsAsTheWholeModelWould) {
  std::vector<EpochRecord> epochs[2];
  double accuracy[2];
  for (const bool splittable : {true, false}) {
    auto strategy = make("fine_tune", Params::from_json(R"({"from": "block2"})"));
    FakeCell cell{Params(), 2, 3, splittable};
    strategy->run(cell);
    EXPECT_EQ(cell.feature_splits.size(), splittable ? 1u : 0u);
    EXPECT_EQ(cell.fit_calls[0].fitted_blocks.size(), splittable ? 1u : 2u);
    epochs[splittable] = cell.epochs;
    accuracy[splittable] = cell.evaluation.accuracy;
  }
  ASSERT_EQ(epochs[0].size(), 3u);
  ASSERT_EQ(epochs[1].size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(epochs[1][i].train_loss, epochs[0][i].train_loss, 1e-5) << i;
    EXPECT_NEAR(epochs[1][i].val_loss, epochs[0][i].val_loss, 1e-5) << i;
    EXPECT_EQ(epochs[1][i].val_acc, epochs[0][i].val_acc) << i;
  }
  EXPECT_EQ(accuracy[1], accuracy[0]);
}

TEST_F(StrategyTest, FineTuneWarmsUpTheHeadAloneFirst) {
  auto strategy = make("fine_tune", Params::from_json(
                                        R"({"last_blocks": 1, "warmup_epochs": 2,
                                            "backbone_lr_scale": 0.1})"));
  FakeCell cell{Params(), 2, 1};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  ASSERT_EQ(cell.fit_calls.size(), 2u);
  const auto& warmup = cell.fit_calls[0];
  EXPECT_EQ(warmup.overrides.epochs, 2);
  EXPECT_EQ(warmup.overrides.phase, "warmup");
  EXPECT_EQ(warmup.group_names, (std::vector<std::string>{"head"}));
  EXPECT_TRUE(changed(before, warmup.backbone_after).empty());
  const auto& tune = cell.fit_calls[1];
  EXPECT_EQ(tune.overrides.epochs, -1);
  EXPECT_EQ(tune.overrides.phase, "fine-tune");
  ASSERT_EQ(tune.group_lrs.size(), 2u);
  EXPECT_DOUBLE_EQ(tune.group_lrs[0], 1e-2);
  EXPECT_DOUBLE_EQ(tune.group_lrs[1], 1e-3);
  EXPECT_FALSE(changed(before, tune.backbone_after).empty());
  ASSERT_EQ(cell.epochs.size(), 3u);
  EXPECT_EQ(cell.epochs[1].phase, "warmup");
  EXPECT_EQ(cell.epochs[2].phase, "fine-tune");
}

TEST_F(StrategyTest, FineTuneWithTrainingBatchnormUpdatesFrozenBlocksStatistics) {
  auto strategy =
      make("fine_tune", Params::from_json(R"({"from": "block2_conv1", "batchnorm": "train"})"));
  FakeCell cell{Params()};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  // block1's statistics change every epoch: nothing about it can be cached.
  EXPECT_TRUE(cell.feature_splits.empty());
  const auto moved = changed(before, cell.fit_calls[0].backbone_after);
  EXPECT_NE(std::find(moved.begin(), moved.end(), "block1.bn.running_mean"), moved.end());
  EXPECT_EQ(std::find(moved.begin(), moved.end(), "block1.conv.weight"), moved.end());
}

TEST_F(StrategyTest, FineTuneRejectsAnUnknownBlockWithDidYouMean) {
  auto strategy = make("fine_tune", Params::from_json(R"({"from": "blok2_conv1"})"));
  FakeCell cell{Params()};
  try {
    strategy->run(cell);
    FAIL() << "no error";
  } catch (const ParamError& e) {  // reported where from was written
    EXPECT_EQ(e.param(), "from");
    EXPECT_STREQ(e.what(),
                 "fine_tune.from: unknown block 'blok2_conv1'; did you mean 'block2_conv1'? "
                 "(blocks: block1_conv1, block2_conv1)");
  }
  EXPECT_TRUE(cell.fit_calls.empty());
}

TEST_F(StrategyTest, FineTuneRejectsMoreBlocksThanTheBackboneHas) {
  auto strategy = make("fine_tune", Params::from_json(R"({"last_blocks": 3})"));
  FakeCell cell{Params()};
  try {
    strategy->run(cell);
    FAIL() << "no error";
  } catch (const ParamError& e) {
    EXPECT_EQ(e.param(), "last_blocks");
    EXPECT_STREQ(e.what(),
                 "fine_tune.last_blocks: 3 blocks asked, the backbone has 2 (block1_conv1, "
                 "block2_conv1)");
  }
  EXPECT_TRUE(cell.fit_calls.empty());
}

TEST_F(StrategyTest, FineTuneNeedsExactlyOneOfFromAndLastBlocks) {
  EXPECT_THROW(make("fine_tune", Params()), Error);
  EXPECT_THROW(make("fine_tune", Params::from_json(R"({"from": "block2", "last_blocks": 1})")),
               Error);
}

TEST_F(StrategyTest, FineTuneLeavesBoundsAndChoicesToItsSchema) {
  const Registry& registry = registry_with("fine_tune");
  EXPECT_EQ(testing::schema_problems(registry, Kind::strategy, "fine_tune",
                                     R"({"from": "block2", "max_cached_mb": -1})"),
            std::vector<std::string>{"'max_cached_mb' must be >= 0, got -1"});
  EXPECT_EQ(testing::schema_problems(registry, Kind::strategy, "fine_tune",
                                     R"({"from": "block2", "batchnorm": "x"})"),
            std::vector<std::string>{"'batchnorm' must be one of frozen, train; got 'x'"});
  EXPECT_EQ(testing::schema_problems(registry, Kind::strategy, "fine_tune",
                                     R"({"from": "block2", "backbone_lr_scale": 0})"),
            std::vector<std::string>{"'backbone_lr_scale' must be > 0, got 0"});
}

// Publishing is the plan's job (the model's `publish: NAME`): the strategy trains and evaluates.
TEST_F(StrategyTest, PretrainTrainsEverythingAndLeavesPublishingToTheRunner) {
  auto strategy = make("pretrain", Params());
  FakeCell cell{Params(), 3};
  const auto before = state_of(*cell.the_backbone());
  strategy->run(cell);
  EXPECT_EQ(cell.evaluations, 1);
  EXPECT_EQ(cell.evaluation.confusion.size(), 3u);
  EXPECT_FALSE(changed(before, state_of(*cell.the_backbone())).empty());
  EXPECT_EQ(testing::schema_problems(registry_with("pretrain"), Kind::strategy, "pretrain",
                                     R"({"publish": "source"})"),
            std::vector<std::string>{"unknown key 'publish' in params"});
}

}  // namespace
}  // namespace tlr
