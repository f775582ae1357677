// The pieces of a run, one at a time: the results layout, the failure line of a model, the plan's
// closure over published weights, the trainer's last-batch check, the store's plugin records.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "core/config/plan.h"
#include "core/run/model_failure.h"
#include "core/run/results_layout.h"
#include "core/store/store.h"
#include "datasets/test_files.h"
#include "engine/train/settings.h"
#include "engine/train/trainer.h"
#include "support/expect_throw.h"
#include "tlr/error.h"
#include "tlr/strategy.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

TEST(ResultsLayout, SafeNameKeepsMatrixNamesAndReplacesTheRest) {
  EXPECT_EQ(safe_name("vgg@500"), "vgg@500");
  EXPECT_EQ(safe_name("a b/c:d"), "a_b_c_d");
  EXPECT_EQ(safe_name("ok-name_1.2"), "ok-name_1.2");
}

TEST(ResultsLayout, EveryPathHasOnePlace) {
  const ResultsLayout layout("out");
  EXPECT_EQ(layout.cache_dir(), "out/cache");
  EXPECT_EQ(layout.experiment_dir("my exp"), "out/my_exp");
  EXPECT_EQ(layout.model_dir("my exp", "vgg@50"), "out/my_exp/vgg@50");
  EXPECT_EQ(layout.split_lists("e", "m"), "out/e/m/split.json");
  EXPECT_EQ(layout.augment_preview("e", "m"), "out/e/m/augment_preview.png");
  EXPECT_EQ(layout.published_weights("abc"), "out/cache/weights/abc.pt");
  EXPECT_EQ(layout.features_dir(), "out/cache/features");
  EXPECT_EQ(ResultsLayout("out", "/elsewhere").published_weights("abc"),
            "/elsewhere/weights/abc.pt");
}

TEST(ModelFailure, LibtorchErrorsBecomeOneLineNamingTheComponentAndPhase) {
  EXPECT_THROW_MSG(in_phase("head 'dense'", "training",
                            [] { throw std::runtime_error("shapes differ\nException raised..."); }),
                   Error, "head 'dense' during training: shapes differ");
  // What the project already wrote for the user passes unchanged.
  EXPECT_THROW_MSG(in_phase("head 'dense'", "training", [] { throw Error("x.pth: error: bad"); }),
                   Error, "x.pth: error: bad");
  EXPECT_THROW(in_phase("backbone 'vgg'", "building", [] { throw Interrupted(); }), Interrupted);
  EXPECT_EQ(in_phase("a", "b", [] { return 7; }), 7);
}

TEST(ModelFailure, ARealLibtorchShapeErrorIsNamed) {
  torch::nn::Linear linear(4, 2);
  try {
    in_phase("head 'linear'", "the forward pass", [&] {
      return linear->forward(torch::zeros({1, 3}));
    });
    FAIL() << "no exception";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("head 'linear' during the forward pass: ", 0), 0u) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

config::ResolvedModel model(const std::string& name, const std::string& publishes = "",
                            std::size_t publisher = static_cast<std::size_t>(-1)) {
  config::ResolvedModel m;
  m.name = name;
  m.publishes = publishes;
  m.publisher = publisher;
  return m;
}

TEST(Plan, OnlyTakesThePublishersOfTheChosenModelsTransitively) {
  config::Plan plan;
  plan.models = {model("source", "s"), model("middle", "m", 0), model("scratch"),
                 model("target", "", 1)};
  EXPECT_EQ(config::with_publishers(plan, {"target"}), (std::vector<std::size_t>{0, 1, 3}));
  EXPECT_EQ(config::with_publishers(plan, {"scratch"}), (std::vector<std::size_t>{2}));
  EXPECT_EQ(config::with_publishers(plan, {"middle", "scratch"}),
            (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_TRUE(config::with_publishers(plan, {"nobody"}).empty());
}

struct BatchNormModel {
  BatchNormModel() {
    head = torch::nn::Sequential(torch::nn::Linear(3, 4), torch::nn::BatchNorm1d(4),
                                 torch::nn::Linear(4, 1));
    model = std::make_shared<Classifier>(nullptr, head);
  }
  torch::nn::Sequential head;
  std::shared_ptr<Classifier> model;
};

TEST(TrainerChecks, ALastBatchOfOneWithABatchNormIsRefusedWithTheFixes) {
  BatchNormModel m;
  TrainingSettings settings;
  settings.batch_size = 32;
  EXPECT_THROW_MSG(check_last_batch(*m.model, settings, 65), Error,
                   "the last training batch of every epoch would hold 1 image (65 train images, "
                   "batch_size 32) and the model trains a BatchNorm1d, which needs at least 2: "
                   "set training.drop_last: true, or batch_size 31 or 33");
  EXPECT_NO_THROW(check_last_batch(*m.model, settings, 64));
  settings.drop_last = true;
  EXPECT_NO_THROW(check_last_batch(*m.model, settings, 65));
}

TEST(TrainerChecks, WithoutABatchNormOrWithItFrozenABatchOfOneIsFine) {
  TrainingSettings settings;
  settings.batch_size = 32;
  auto plain = std::make_shared<Classifier>(
      nullptr, torch::nn::Sequential(torch::nn::Linear(3, 4), torch::nn::Linear(4, 1)));
  EXPECT_NO_THROW(check_last_batch(*plain, settings, 65));
  // A BatchNorm2d over images normalises over pixels too: one image is enough.
  auto images = std::make_shared<Classifier>(
      nullptr, torch::nn::Sequential(torch::nn::BatchNorm2d(3), torch::nn::Flatten()));
  EXPECT_NO_THROW(check_last_batch(*images, settings, 65));
}

TEST(TrainerChecks, DropLastSkipsTheShortBatchAndTrainsOnTheRest) {
  BatchNormModel m;
  TrainingSettings settings;
  settings.batch_size = 4;
  settings.epochs = 1;
  settings.drop_last = true;
  // 9 images: two full batches and one of 1, which BatchNorm1d would refuse.
  struct Nine : Batches {
    std::size_t samples() const override { return 9; }
    void start_epoch(int) override { given = 0; }
    bool next(torch::Tensor& x, torch::Tensor& y) override {
      if (given >= 9) return false;
      const std::int64_t n = std::min<std::int64_t>(4, 9 - given);
      x = torch::randn({n, 3});
      y = torch::zeros({n}, torch::kLong);
      given += n;
      return true;
    }
    std::int64_t given = 0;
  } train, val;
  int epochs = 0;
  double samples_per_second = -1;
  Trainer trainer(settings, OutputMode::sigmoid, 1,
                  TrainerCallbacks{[&](const EpochRecord& r) {
                                     ++epochs;
                                     samples_per_second = r.images_per_second;
                                   },
                                   nullptr});
  std::vector<ParamGroup> groups{{"all", m.model->parameters(), 1e-3}};
  // Validation runs in eval mode, where a batch of one is fine; training skips it.
  EXPECT_NO_THROW(trainer.fit(*m.model, groups, train, val));
  EXPECT_EQ(epochs, 1);
  EXPECT_GT(samples_per_second, 0);
}

TEST(RunStore, EveryRunRecordsItsDeviceAndThePluginLibrariesItUsed) {
  testing::TempDir tmp;
  Store store = Store::open((tmp.path() / "results.db").string());
  EXPECT_EQ(store.schema_version(), Store::latest_schema_version());
  const std::int64_t experiment = store.begin_experiment("e", "e.yaml", "experiment: e\n");
  RunStart start;
  start.experiment_id = experiment;
  start.model = "m";
  start.strategy = "scratch";
  start.backbone = "basic_cnn";
  start.config_json = "{}";
  start.config_hash = "h";
  start.device = "cpu";
  start.plugins = {{"backbone", "basic_cnn", "basic_cnn", "1.0.0", "/p/libb.so", "aa"},
                   {"strategy", "scratch", "scratch", "1.0.0", "/p/libs.so", "bb"}};
  const std::int64_t run = store.begin_run(start);
  const auto plugins = store.plugins(run);
  ASSERT_EQ(plugins.size(), 2u);
  EXPECT_EQ(plugins[0].kind, "backbone");
  EXPECT_EQ(plugins[0].library, "/p/libb.so");
  EXPECT_EQ(plugins[0].sha256, "aa");
  EXPECT_EQ(plugins[1].component, "scratch");
  // The weights a completed run published lead back to it; a failed run's do not.
  const fs::path weights = tmp.path() / "w.pt";
  testing::write_text(weights, "weights");
  store.record_artifact(run, "published_weights", weights.string());
  EXPECT_FALSE(store.run_with_artifact("published_weights", weights.string()).has_value());
  store.finish_run(run, RunStatus::kCompleted, "");
  EXPECT_EQ(store.run_with_artifact("published_weights", weights.string()),
            std::optional<std::int64_t>(run));
  EXPECT_FALSE(store.run_with_artifact("published_weights", "/nowhere.pt").has_value());
  // A run that loaded them (kind "weights") is not the one that published them.
  EXPECT_FALSE(store.run_with_artifact("weights", weights.string()).has_value());
}

}  // namespace
}  // namespace tlr
