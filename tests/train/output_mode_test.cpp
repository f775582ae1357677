#include "engine/train/output_mode.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

TEST(OutputMode, AutoFollowsTheClassCount) {
  EXPECT_EQ(output_mode_for(2, "auto"), OutputMode::sigmoid);
  EXPECT_EQ(output_units(OutputMode::sigmoid, 2), 1);
  EXPECT_EQ(output_mode_for(5, "auto"), OutputMode::softmax);
  EXPECT_EQ(output_units(OutputMode::softmax, 5), 5);
  EXPECT_EQ(output_mode_for(2, "softmax"), OutputMode::softmax);
  EXPECT_EQ(output_units(OutputMode::softmax, 2), 2);
  EXPECT_EQ(output_mode_for(2, "sigmoid"), OutputMode::sigmoid);
}

TEST(OutputMode, SigmoidWithMoreThanTwoClassesIsAnError) {
  EXPECT_THROW_MSG(output_mode_for(5, "sigmoid"), Error,
                   "output: 'sigmoid' needs exactly 2 classes, the data has 5; one sigmoid unit "
                   "cannot choose among more (use 'softmax' or 'auto')");
}

TEST(OutputMode, RejectsOneClassAndUnknownNames) {
  EXPECT_THROW(output_mode_for(1, "auto"), Error);
  EXPECT_THROW(output_mode_for(3, "tanh"), Error);
}

TEST(OutputMode, SigmoidLossIsBceWithLogitsAndPredictsAboveHalf) {
  torch::Tensor logits = torch::tensor({{2.0}, {-1.0}, {0.5}}, torch::kDouble);
  torch::Tensor labels = torch::tensor({1, 0, 0}, torch::kLong);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  const double expected =
      -(std::log(sig(2.0)) + std::log(1 - sig(-1.0)) + std::log(1 - sig(0.5))) / 3;
  EXPECT_NEAR(output_loss(OutputMode::sigmoid, logits, labels).item<double>(), expected, 1e-12);
  EXPECT_TRUE(torch::equal(output_predictions(OutputMode::sigmoid, logits),
                           torch::tensor({1, 0, 1}, torch::kLong)));
}

TEST(OutputMode, SoftmaxLossIsCrossEntropyAndPredictsArgmax) {
  torch::Tensor logits = torch::tensor({{1.0, 2.0, 0.0}, {0.0, 0.0, 3.0}}, torch::kDouble);
  torch::Tensor labels = torch::tensor({0, 2}, torch::kLong);
  const double lse0 = std::log(std::exp(1.0) + std::exp(2.0) + 1.0);
  const double lse1 = std::log(2.0 + std::exp(3.0));
  const double expected = ((lse0 - 1.0) + (lse1 - 3.0)) / 2;
  EXPECT_NEAR(output_loss(OutputMode::softmax, logits, labels).item<double>(), expected, 1e-12);
  EXPECT_TRUE(torch::equal(output_predictions(OutputMode::softmax, logits),
                           torch::tensor({1, 2}, torch::kLong)));
}

TEST(OutputMode, RejectsLogitsOfTheWrongWidth) {
  EXPECT_THROW(
      output_loss(OutputMode::sigmoid, torch::zeros({4, 2}), torch::zeros({4}, torch::kLong)),
      Error);
}

}  // namespace
}  // namespace tlr
