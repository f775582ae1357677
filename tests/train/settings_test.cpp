#include "engine/train/settings.h"

#include <gtest/gtest.h>

#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

TEST(TrainingSettings, DefaultsFollowKeras) {
  const TrainingSettings s = TrainingSettings::parse(Params());
  EXPECT_EQ(s.batch_size, 30);
  EXPECT_EQ(s.epochs, 30);
  EXPECT_EQ(s.optimizer.name, "rmsprop");
  EXPECT_DOUBLE_EQ(s.optimizer.rho, 0.9);
  EXPECT_DOUBLE_EQ(s.optimizer.eps, 1e-7);
  EXPECT_EQ(s.schedule.name, "none");
  EXPECT_EQ(s.early_stopping.patience, 0);
  EXPECT_EQ(s.early_stopping.monitor, "val_loss");
  EXPECT_EQ(s.steps_per_epoch, 0);
}

TEST(TrainingSettings, ParsesEveryBlock) {
  const TrainingSettings s = TrainingSettings::parse(Params::from_json(R"({
    "batch_size": 20, "epochs": 5, "steps_per_epoch": 100,
    "optimizer": {"name": "adam", "lr": 0.0002, "betas": [0.8, 0.99], "weight_decay": 0.01},
    "schedule": {"name": "plateau", "factor": 0.01, "patience": 3, "min_lr": 1e-5,
                 "monitor": "val_acc"},
    "early_stopping": {"patience": 4, "min_delta": 0.001, "monitor": "val_acc"}})"));
  EXPECT_EQ(s.batch_size, 20);
  EXPECT_EQ(s.epochs, 5);
  EXPECT_EQ(s.steps_per_epoch, 100);
  EXPECT_EQ(s.optimizer.name, "adam");
  EXPECT_DOUBLE_EQ(s.optimizer.lr, 2e-4);
  EXPECT_DOUBLE_EQ(s.optimizer.beta1, 0.8);
  EXPECT_DOUBLE_EQ(s.optimizer.beta2, 0.99);
  EXPECT_DOUBLE_EQ(s.optimizer.weight_decay, 0.01);
  EXPECT_EQ(s.schedule.name, "plateau");
  EXPECT_EQ(s.schedule.monitor, "val_acc");
  EXPECT_DOUBLE_EQ(s.schedule.factor, 0.01);
  EXPECT_EQ(s.schedule.patience, 3);
  EXPECT_DOUBLE_EQ(s.schedule.min_lr, 1e-5);
  EXPECT_EQ(s.early_stopping.patience, 4);
  EXPECT_DOUBLE_EQ(s.early_stopping.min_delta, 0.001);
  EXPECT_EQ(s.early_stopping.monitor, "val_acc");
}

TEST(TrainingSettings, RejectsUnknownOptimizerNamingTheKey) {
  EXPECT_THROW_MSG(
      TrainingSettings::parse(Params::from_json(R"({"optimizer": {"name": "adamw"}})")), Error,
      "training.optimizer.name: unknown value 'adamw'; expected rmsprop, adam or sgd");
}

TEST(TrainingSettings, RejectsOutOfRangeValues) {
  EXPECT_THROW(TrainingSettings::parse(Params::from_json(R"({"batch_size": 0})")), Error);
  EXPECT_THROW(TrainingSettings::parse(Params::from_json(R"({"optimizer": {"lr": -1}})")), Error);
  EXPECT_THROW(TrainingSettings::parse(Params::from_json(R"({"schedule": {"factor": 1.5}})")),
               Error);
  EXPECT_THROW(
      TrainingSettings::parse(Params::from_json(R"({"early_stopping": {"monitor": "acc"}})")),
      Error);
}

}  // namespace
}  // namespace tlr
