#include "engine/train/evaluation.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "tlr/error.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

using Matrix = std::vector<std::vector<std::int64_t>>;

TEST(Evaluation, BinaryReportsThePositiveClassAndMacro) {
  //                                    tp  fn  tp  tn  fp  tn  tn  tn  tp  fp
  const std::vector<std::int64_t> labels = {1, 1, 1, 0, 0, 0, 0, 0, 1, 0};
  const std::vector<std::int64_t> predicted = {1, 0, 1, 0, 1, 0, 0, 0, 1, 1};
  const Evaluation e = score_predictions(labels, predicted, 2, 0.25);
  EXPECT_EQ(e.samples, 10);
  EXPECT_DOUBLE_EQ(e.loss, 0.25);
  EXPECT_DOUBLE_EQ(e.accuracy, 0.7);
  EXPECT_EQ(e.confusion, (Matrix{{4, 2}, {1, 3}}));
  EXPECT_EQ(e.average, "binary");
  EXPECT_DOUBLE_EQ(e.precision, 3.0 / 5);
  EXPECT_DOUBLE_EQ(e.recall, 3.0 / 4);
  EXPECT_DOUBLE_EQ(e.f1, 2 * 0.6 * 0.75 / 1.35);
  ASSERT_EQ(e.per_class.size(), 2u);
  EXPECT_DOUBLE_EQ(e.per_class[0].precision, 4.0 / 5);
  EXPECT_DOUBLE_EQ(e.per_class[0].recall, 4.0 / 6);
  EXPECT_NEAR(e.per_class[0].f1, 2 * 0.8 * (4.0 / 6) / (0.8 + 4.0 / 6), 1e-12);
  EXPECT_EQ(e.per_class[0].support, 6);
  EXPECT_EQ(e.per_class[1].support, 4);
  EXPECT_NEAR(e.macro_precision, 0.7, 1e-12);
  EXPECT_NEAR(e.macro_recall, (4.0 / 6 + 0.75) / 2, 1e-12);
  EXPECT_NEAR(e.macro_f1, (e.per_class[0].f1 + e.per_class[1].f1) / 2, 1e-12);
}

TEST(Evaluation, MultiClassIsMacroAndAClassNeverPredictedScoresZero) {
  const std::vector<std::int64_t> labels = {0, 0, 1, 1, 2, 2};
  const std::vector<std::int64_t> predicted = {0, 1, 1, 1, 1, 0};
  const Evaluation e = score_predictions(labels, predicted, 3);
  EXPECT_EQ(e.confusion, (Matrix{{1, 1, 0}, {0, 2, 0}, {1, 1, 0}}));
  EXPECT_DOUBLE_EQ(e.accuracy, 0.5);
  EXPECT_EQ(e.average, "macro");
  EXPECT_DOUBLE_EQ(e.per_class[0].precision, 0.5);
  EXPECT_DOUBLE_EQ(e.per_class[0].recall, 0.5);
  EXPECT_DOUBLE_EQ(e.per_class[1].precision, 0.5);
  EXPECT_DOUBLE_EQ(e.per_class[1].recall, 1.0);
  EXPECT_NEAR(e.per_class[1].f1, 2.0 / 3, 1e-12);
  EXPECT_DOUBLE_EQ(e.per_class[2].precision, 0.0);  // 0/0
  EXPECT_DOUBLE_EQ(e.per_class[2].recall, 0.0);
  EXPECT_DOUBLE_EQ(e.per_class[2].f1, 0.0);
  EXPECT_NEAR(e.precision, 1.0 / 3, 1e-12);
  EXPECT_NEAR(e.recall, 0.5, 1e-12);
  EXPECT_NEAR(e.f1, (0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(e.precision, e.macro_precision);
}

TEST(Evaluation, BinaryWithoutAnyPositivePredictionScoresZeroNotNan) {
  const Evaluation e = score_predictions({0, 1, 1}, {0, 0, 0}, 2);
  EXPECT_DOUBLE_EQ(e.precision, 0.0);
  EXPECT_DOUBLE_EQ(e.recall, 0.0);
  EXPECT_DOUBLE_EQ(e.f1, 0.0);
  EXPECT_NEAR(e.accuracy, 1.0 / 3, 1e-12);
}

TEST(Evaluation, RejectsLabelsOutsideTheClasses) {
  EXPECT_THROW(score_predictions({0, 3}, {0, 1}, 3), Error);
  EXPECT_THROW(score_predictions({0, 1}, {0}, 2), Error);
}

// The model's output is its input (identity head), so the test chooses the logits.
TEST(Evaluation, EvaluateRunsTheModelOverEveryBatch) {
  torch::set_num_threads(2);
  Classifier model(nullptr, torch::nn::Sequential(torch::nn::Identity()));
  torch::Tensor logits = torch::tensor({{2.0f}, {-1.0f}, {0.5f}, {-3.0f}, {1.0f}});
  torch::Tensor labels = torch::tensor({1, 0, 0, 1, 1}, torch::kLong);
  testing::TensorBatches test(logits, labels, 2);
  const Evaluation e = evaluate(model, test, OutputMode::sigmoid, 2);
  EXPECT_EQ(test.epochs_started, (std::vector<int>{0}));
  EXPECT_EQ(e.confusion, (Matrix{{1, 1}, {1, 2}}));
  const double expected_loss = output_loss(OutputMode::sigmoid, logits, labels).item<double>();
  EXPECT_NEAR(e.loss, expected_loss, 1e-6);
  EXPECT_FALSE(model.is_training());
}

}  // namespace
}  // namespace tlr
