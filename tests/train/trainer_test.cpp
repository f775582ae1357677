#include "engine/train/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <sstream>

#include "engine/train/lr_schedule.h"
#include "engine/train/parameters.h"
#include "engine/train/progress.h"
#include "tlr/error.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

using testing::TensorBatches;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(2);
    torch::manual_seed(0);
  }
};

// Points in R^4 labelled by a hyperplane (2 classes) or by the argmax of 3 linear scores, with a
// margin so that a linear model can reach 100%.
struct Toy {
  torch::Tensor x_train, y_train, x_val, y_val;
};

Toy linear_toy(int classes) {
  torch::Tensor w = torch::tensor(
      {{1.0f, -2.0f, 0.5f, 1.5f}, {-1.0f, 0.5f, 2.0f, -0.5f}, {0.5f, 1.0f, -1.5f, -2.0f}});
  torch::Tensor x = torch::randn({1200, 4});
  torch::Tensor y;
  if (classes == 2) {
    torch::Tensor score = x.matmul(w[0]);
    torch::Tensor keep = score.abs() > 0.5;
    x = x.index({keep});
    y = (score.index({keep}) > 0).to(torch::kLong);
  } else {
    torch::Tensor scores = x.matmul(w.t());
    auto top = scores.topk(2, 1);
    torch::Tensor keep = (std::get<0>(top).select(1, 0) - std::get<0>(top).select(1, 1)) > 0.5;
    x = x.index({keep});
    y = std::get<1>(top).select(1, 0).index({keep});
  }
  const std::int64_t n = x.size(0), cut = n * 2 / 3;
  return Toy{x.slice(0, 0, cut), y.slice(0, 0, cut), x.slice(0, cut), y.slice(0, cut)};
}

TrainingSettings settings_with(const std::string& optimizer, double lr, int epochs) {
  TrainingSettings s;
  s.optimizer.name = optimizer;
  s.optimizer.lr = lr;
  s.epochs = epochs;
  s.batch_size = 32;
  return s;
}

std::shared_ptr<Classifier> linear_classifier(std::int64_t outputs) {
  return std::make_shared<Classifier>(nullptr,
                                      torch::nn::Sequential(torch::nn::Linear(4, outputs)));
}

std::vector<ParamGroup> all_of(Classifier& model, double lr) {
  return {ParamGroup{"all", model.parameters(), lr}};
}

TEST_F(TrainerTest, RmspropStepIsKerasRmsprop) {
  OptimizerSettings s;
  s.name = "rmsprop";
  s.lr = 0.01;
  s.rho = 0.9;
  s.eps = 1e-7;
  torch::Tensor p =
      torch::tensor({1.0, -2.0, 0.5}, torch::dtype(torch::kDouble).requires_grad(true));
  const std::vector<double> grad = {1e-7, 0.3, -2.0};
  auto optimizer = make_optimizer(s, {ParamGroup{"p", {p}, s.lr}});
  std::vector<double> expected = {1.0, -2.0, 0.5}, v(3, 0.0);
  for (int step = 0; step < 2; ++step) {
    p.mutable_grad() = torch::tensor(grad, torch::kDouble);
    optimizer->step();
    for (int i = 0; i < 3; ++i) {
      // Keras: v = rho·v + (1 - rho)·g²; p -= lr·g / (√v + eps)
      v[i] = s.rho * v[i] + (1 - s.rho) * grad[i] * grad[i];
      expected[i] -= s.lr * grad[i] / (std::sqrt(v[i]) + s.eps);
    }
    for (int i = 0; i < 3; ++i) {
      EXPECT_NEAR(p[i].item<double>(), expected[i], 1e-12) << "step " << step << " element " << i;
    }
  }
}

TEST_F(TrainerTest, OptimizerGetsOneGroupPerParamGroupWithItsOwnLr) {
  torch::Tensor a = torch::zeros({2}, torch::requires_grad());
  torch::Tensor b = torch::zeros({3}, torch::requires_grad());
  torch::Tensor frozen = torch::zeros({4});
  std::vector<std::size_t> kept;
  auto optimizer = make_optimizer(OptimizerSettings{},
                                  {ParamGroup{"frozen", {frozen}, 1.0}, ParamGroup{"a", {a}, 0.1},
                                   ParamGroup{"b", {b, frozen}, 0.01}},
                                  &kept);
  ASSERT_EQ(optimizer->param_groups().size(), 2u);
  EXPECT_EQ(kept, (std::vector<std::size_t>{1, 2}));
  EXPECT_DOUBLE_EQ(optimizer->param_groups()[0].options().get_lr(), 0.1);
  EXPECT_DOUBLE_EQ(optimizer->param_groups()[1].options().get_lr(), 0.01);
  EXPECT_EQ(optimizer->param_groups()[1].params().size(), 1u);
  EXPECT_THROW(make_optimizer(OptimizerSettings{}, {ParamGroup{"frozen", {frozen}, 1.0}}), Error);
}

TEST_F(TrainerTest, SigmoidOutputLearnsASeparableProblem) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  Trainer trainer(settings_with("rmsprop", 0.01, 5), OutputMode::sigmoid, 2);
  const FitResult result = trainer.fit(*model, all_of(*model, 0.01), train, val);
  EXPECT_EQ(result.epochs, 5);
  EXPECT_GE(result.best_val_accuracy, 0.95);
  const Evaluation e = evaluate(*model, val, OutputMode::sigmoid, 2);
  EXPECT_DOUBLE_EQ(e.accuracy, result.best_val_accuracy);
}

TEST_F(TrainerTest, SoftmaxOutputLearnsASeparableProblem) {
  Toy toy = linear_toy(3);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(3);
  Trainer trainer(settings_with("adam", 0.05, 8), OutputMode::softmax, 2);
  const FitResult result = trainer.fit(*model, all_of(*model, 0.05), train, val);
  EXPECT_GE(result.best_val_accuracy, 0.95);
}

TEST_F(TrainerTest, EpochRecordsCarryLossAccuracyLrAndSpeed) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  std::vector<EpochRecord> records;
  Trainer trainer(settings_with("sgd", 0.1, 3), OutputMode::sigmoid, 2,
                  {[&](const EpochRecord& r) { records.push_back(r); }, nullptr});
  trainer.fit(*model, all_of(*model, 0.1), train, val, FitOverrides{2, "warmup"});
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].epoch, 2);
  EXPECT_EQ(records[1].epochs, 2);
  EXPECT_EQ(records[1].phase, "warmup");
  EXPECT_DOUBLE_EQ(records[1].lr, 0.1);
  EXPECT_GT(records[1].train_acc, 0.5);
  EXPECT_GT(records[1].val_loss, 0);
  EXPECT_GT(records[1].images_per_second, 0);
  EXPECT_EQ(train.epochs_started, (std::vector<int>{1, 2}));
  EXPECT_EQ(val.epochs_started, (std::vector<int>{1, 2}));
}

TEST_F(TrainerTest, StepsPerEpochStartsAnotherPassWhenOneIsTooShort) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train.slice(0, 0, 64), toy.y_train.slice(0, 0, 64), 16, true);
  TensorBatches val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  TrainingSettings s = settings_with("sgd", 0.1, 2);
  s.steps_per_epoch = 6;  // 4 batches per pass
  s.batch_size = 16;
  std::vector<std::int64_t> seen;
  Trainer trainer(s, OutputMode::sigmoid, 2,
                  {nullptr, [&](const TrainProgress& p) { seen.push_back(p.done); }});
  trainer.fit(*model, all_of(*model, 0.1), train, val);
  EXPECT_EQ(train.epochs_started, (std::vector<int>{1, 2, 3, 4}));
  ASSERT_EQ(seen.size(), 12u);
  EXPECT_EQ(seen[5], 96);
}

TEST_F(TrainerTest, KeepBestRestoresTheBestEpochsWeights) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  // Good for two epochs, then the step schedule multiplies the lr by 10^4: training diverges.
  TrainingSettings s = settings_with("sgd", 0.1, 6);
  s.schedule.name = "step";
  s.schedule.step_size = 2;
  s.schedule.gamma = 1e4;
  std::vector<std::map<std::string, torch::Tensor>> after_epoch;
  std::vector<double> val_acc;
  Trainer trainer(s, OutputMode::sigmoid, 2,
                  {[&](const EpochRecord& r) {
                     after_epoch.push_back(testing::state_of(*model));
                     val_acc.push_back(r.val_acc);
                   },
                   nullptr});
  const FitResult result = trainer.fit(*model, all_of(*model, 0.1), train, val);
  ASSERT_EQ(result.epochs, 6);
  const auto best = std::max_element(val_acc.begin(), val_acc.end());
  EXPECT_EQ(result.best_epoch, best - val_acc.begin() + 1);
  EXPECT_LT(result.best_epoch, 6);
  EXPECT_DOUBLE_EQ(result.best_val_accuracy, *best);
  const auto now = testing::state_of(*model);
  EXPECT_TRUE(testing::changed(after_epoch[result.best_epoch - 1], now).empty());
  EXPECT_FALSE(testing::changed(after_epoch.back(), now).empty());
}

TEST_F(TrainerTest, EarlyStoppingStopsAfterPatienceEpochsWithoutImprovement) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  // lr 0: validation never improves after epoch 1.
  TrainingSettings s = settings_with("sgd", 0.0, 10);
  s.early_stopping.patience = 2;
  const FitResult result =
      Trainer(s, OutputMode::sigmoid, 2).fit(*model, all_of(*model, 0.0), train, val);
  EXPECT_EQ(result.epochs, 3);
  EXPECT_EQ(result.best_epoch, 1);
  EXPECT_EQ(result.stopped_because, "early stopping: val_loss did not improve for 2 epochs");

  s.early_stopping.monitor = "val_acc";
  s.early_stopping.patience = 4;
  EXPECT_EQ(Trainer(s, OutputMode::sigmoid, 2).fit(*model, all_of(*model, 0.0), train, val).epochs,
            5);
}

TEST_F(TrainerTest, EarlyStoppingOffRunsEveryEpoch) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  const FitResult result = Trainer(settings_with("sgd", 0.0, 4), OutputMode::sigmoid, 2)
                               .fit(*model, all_of(*model, 0.0), train, val);
  EXPECT_EQ(result.epochs, 4);
  EXPECT_EQ(result.stopped_because, "max epochs");
}

TEST(LrSchedule, PlateauMultipliesByFactorAfterPatience) {
  ScheduleSettings s;
  s.name = "plateau";
  s.factor = 0.5;
  s.patience = 2;
  s.min_lr = 0.02;
  LrSchedule schedule(s, {0.1, 0.01}, 10);
  const std::vector<double> losses = {1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85};
  std::vector<double> head;
  for (std::size_t i = 0; i < losses.size(); ++i) {
    head.push_back(schedule.step(static_cast<int>(i) + 1, losses[i], 0.5)[0]);
  }
  EXPECT_EQ(head, (std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.02}));
  EXPECT_DOUBLE_EQ(schedule.current()[1], 0.01);  // already below min_lr: left alone
}

TEST(LrSchedule, PlateauOnValAccuracyWaitsForItToRise) {
  ScheduleSettings s;
  s.name = "plateau";
  s.monitor = "val_acc";
  s.factor = 0.5;
  s.patience = 2;
  s.min_delta = 0.01;
  LrSchedule schedule(s, {0.1}, 10);
  // Rising accuracy is progress whatever the loss does; +0.005 is below min_delta.
  const std::vector<double> accuracies = {0.5, 0.6, 0.6, 0.605, 0.7, 0.7, 0.69};
  std::vector<double> lr;
  for (std::size_t i = 0; i < accuracies.size(); ++i) {
    lr.push_back(schedule.step(static_cast<int>(i) + 1, 1.0 + i, accuracies[i])[0]);
  }
  EXPECT_EQ(lr, (std::vector<double>{0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025}));
}

TEST(LrSchedule, StepAndCosine) {
  ScheduleSettings step;
  step.name = "step";
  step.step_size = 2;
  step.gamma = 0.1;
  LrSchedule s(step, {1.0}, 10);
  EXPECT_DOUBLE_EQ(s.step(1, 0, 0)[0], 1.0);
  EXPECT_DOUBLE_EQ(s.step(2, 0, 0)[0], 0.1);
  EXPECT_NEAR(s.step(4, 0, 0)[0], 0.01, 1e-15);

  ScheduleSettings cosine;
  cosine.name = "cosine";
  LrSchedule c(cosine, {1.0}, 4);
  EXPECT_DOUBLE_EQ(c.current()[0], 1.0);
  EXPECT_NEAR(c.step(2, 0, 0)[0], 0.5, 1e-12);
  EXPECT_NEAR(c.step(4, 0, 0)[0], 0.0, 1e-12);
}

TEST_F(TrainerTest, PlateauScheduleLowersTheLrOfTheNextEpochs) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  TrainingSettings s = settings_with("sgd", 1e-9, 5);  // val_loss stays flat
  s.schedule.name = "plateau";
  s.schedule.factor = 0.1;
  s.schedule.patience = 2;
  std::vector<double> lrs;
  Trainer(s, OutputMode::sigmoid, 2, {[&](const EpochRecord& r) { lrs.push_back(r.lr); }, nullptr})
      .fit(*model, all_of(*model, 1e-9), train, val);
  ASSERT_EQ(lrs.size(), 5u);
  EXPECT_DOUBLE_EQ(lrs[2], 1e-9);
  EXPECT_DOUBLE_EQ(lrs[3], 1e-10);
  EXPECT_DOUBLE_EQ(lrs[4], 1e-10);
}

TEST_F(TrainerTest, NanLossFailsTheFitNamingTheEpoch) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32, true), val(toy.x_val, toy.y_val, 64);
  train.poison_from_epoch = 3;
  auto model = linear_classifier(1);
  Trainer trainer(settings_with("rmsprop", 0.01, 5), OutputMode::sigmoid, 2);
  try {
    trainer.fit(*model, all_of(*model, 0.01), train, val);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "epoch 3: loss is nan; stopping (lower the learning rate?)");
  }
  train.poison_from_epoch = 1;
  try {
    trainer.fit(*model, all_of(*model, 0.01), train, val, FitOverrides{-1, "fine-tune"});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "fine-tune epoch 1: loss is nan; stopping (lower the learning rate?)");
  }
}

TEST_F(TrainerTest, ZeroEpochsTrainsNothing) {
  Toy toy = linear_toy(2);
  TensorBatches train(toy.x_train, toy.y_train, 32), val(toy.x_val, toy.y_val, 64);
  auto model = linear_classifier(1);
  const auto before = testing::state_of(*model);
  const FitResult r = Trainer(settings_with("sgd", 0.1, 5), OutputMode::sigmoid, 2)
                          .fit(*model, all_of(*model, 0.1), train, val, FitOverrides{0, "warmup"});
  EXPECT_EQ(r.epochs, 0);
  EXPECT_TRUE(testing::changed(before, testing::state_of(*model)).empty());
}

TEST(Parameters, CountsTrainableAndTotal) {
  auto model = linear_classifier(3);  // 4×3 + 3
  EXPECT_EQ(count_parameters(*model), 15);
  EXPECT_EQ(count_trainable(*model), 15);
  model->head->ptr(0)->named_parameters()["bias"].set_requires_grad(false);
  EXPECT_EQ(count_trainable(*model), 12);
  EXPECT_EQ(count_parameters(*model), 15);
}

TEST(ProgressPrinter, LinesStylePrintsOneLinePerEpochAndNoBar) {
  std::ostringstream out;
  ProgressPrinter printer(out, ProgressStyle::lines, "cnn");
  TrainerCallbacks callbacks = printer.attach({});
  callbacks.on_progress(TrainProgress{1, 3, "", 10, 100, 0.5, 0.6, 1.0});
  EpochRecord r;
  r.epoch = 1;
  r.epochs = 3;
  r.train_loss = 0.5;
  r.train_acc = 0.75;
  r.val_loss = 0.625;
  r.val_acc = 0.5;
  r.lr = 1e-4;
  r.seconds = 2.5;
  r.images_per_second = 1200;
  callbacks.on_epoch(r);
  EXPECT_EQ(out.str(),
            "cnn epoch 1/3  loss 0.5000 acc 0.7500  val_loss 0.6250 val_acc 0.5000  lr 0.0001  "
            "2.5s 1200 img/s\n");
}

TEST(ProgressPrinter, BarStyleShowsEtaAndIsClearedByTheEpochLine) {
  std::ostringstream out;
  ProgressPrinter printer(out, ProgressStyle::bar, "");
  printer.on_progress(TrainProgress{2, 5, "warmup", 50, 100, 0.25, 0.5, 10.0});
  EXPECT_NE(out.str().find("warmup epoch 2/5 ["), std::string::npos);
  EXPECT_NE(out.str().find(" 50% ETA 0:10 loss 0.2500 acc 0.5000"), std::string::npos);
  EpochRecord r;
  r.epoch = 2;
  r.epochs = 5;
  printer.on_epoch(r);
  EXPECT_NE(out.str().find("\r\x1b[Kepoch 2/5"), std::string::npos);

  std::ostringstream quiet;
  ProgressPrinter silent(quiet, ProgressStyle::quiet, "x");
  silent.on_progress(TrainProgress{1, 1, "", 1, 1, 0, 0, 0});
  silent.on_epoch(r);
  EXPECT_TRUE(quiet.str().empty());
}

}  // namespace
}  // namespace tlr
