// training.precision: the autocast scope, and that the trainer, the evaluator and feature
// extraction compute in the precision they are given while weights, optimizer state, BatchNorm
// statistics, losses and features stay fp32.
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <set>
#include <vector>

#include "core/run/precision_choice.h"
#include "engine/data/feature_extraction.h"
#include "engine/train/evaluation.h"
#include "engine/train/forward_pass.h"
#include "engine/train/trainer.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

using testing::TensorBatches;
using testing::TinyBackbone;

// Passes its input through and notes the dtype it saw: put after a layer, it shows what that
// layer computed in.
struct DtypeRecorderImpl : torch::nn::Module {
  explicit DtypeRecorderImpl(std::shared_ptr<std::vector<torch::ScalarType>> seen_)
      : seen(std::move(seen_)) {}
  torch::Tensor forward(torch::Tensor x) {
    seen->push_back(x.scalar_type());
    return x;
  }
  std::shared_ptr<std::vector<torch::ScalarType>> seen;
};
TORCH_MODULE(DtypeRecorder);

class PrecisionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(2);
    torch::manual_seed(3);
    x_train = torch::randn({48, 3, 8, 8});
    y_train = (x_train.select(1, 0).mean({1, 2}) > 0).to(torch::kLong);
    x_val = torch::randn({24, 3, 8, 8});
    y_val = (x_val.select(1, 0).mean({1, 2}) > 0).to(torch::kLong);
  }

  // TinyBackbone (conv + BatchNorm) → [record] → Flatten → Linear → [record].
  std::shared_ptr<Classifier> model(std::uint64_t seed) {
    torch::manual_seed(seed);
    auto backbone = std::make_shared<TinyBackbone>();
    torch::nn::Sequential head(DtypeRecorder(backbone_seen), torch::nn::Flatten(),
                               torch::nn::Linear(8 * 4 * 4, 1), DtypeRecorder(head_seen));
    auto classifier = std::make_shared<Classifier>(backbone, head);
    classifier->freeze_batchnorm = false;
    return classifier;
  }

  FitResult fit(Classifier& m, Precision precision) {
    TrainingSettings settings;
    settings.epochs = 2;
    settings.batch_size = 16;
    settings.optimizer.name = "adam";
    settings.optimizer.lr = 1e-2;
    TensorBatches train(x_train, y_train, 16, true), val(x_val, y_val, 16);
    Trainer trainer(settings, OutputMode::sigmoid, 2);
    trainer.set_precision(precision);
    return trainer.fit(m, {ParamGroup{"all", m.parameters(), 1e-2}}, train, val);
  }

  std::set<torch::ScalarType> dtypes(const std::vector<torch::ScalarType>& seen) const {
    return {seen.begin(), seen.end()};
  }

  torch::Tensor x_train, y_train, x_val, y_val;
  std::shared_ptr<std::vector<torch::ScalarType>> backbone_seen =
      std::make_shared<std::vector<torch::ScalarType>>();
  std::shared_ptr<std::vector<torch::ScalarType>> head_seen =
      std::make_shared<std::vector<torch::ScalarType>>();
};

TEST(AutocastScope, Bf16ScopeCastsMatrixProductsAndRestoresTheStateItFound) {
  const torch::Tensor a = torch::randn({4, 4}), b = torch::randn({4, 4});
  ASSERT_FALSE(at::autocast::is_cpu_enabled());
  {
    AutocastScope scope(Precision::bf16, torch::kCPU);
    EXPECT_TRUE(at::autocast::is_cpu_enabled());
    EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    {
      AutocastScope inner(Precision::bf16, torch::kCPU);
      EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kBFloat16);
    }
    EXPECT_TRUE(at::autocast::is_cpu_enabled()) << "the inner scope must leave the outer on";
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::mm(a, b).scalar_type(), torch::kFloat);
}

TEST(AutocastScope, Fp32ScopeChangesNothing) {
  AutocastScope scope(Precision::fp32, torch::kCPU);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(torch::mm(torch::randn({2, 2}), torch::randn({2, 2})).scalar_type(), torch::kFloat);
}

TEST(PrecisionChoice, AutoIsBf16OnlyOnACpuWithNativeBf16) {
  EXPECT_EQ(resolve_precision("fp32", torch::kCPU, true), Precision::fp32);
  EXPECT_EQ(resolve_precision("bf16", torch::kCPU, false), Precision::bf16);
  EXPECT_EQ(resolve_precision("auto", torch::kCPU, true), Precision::bf16);
  EXPECT_EQ(resolve_precision("auto", torch::kCPU, false), Precision::fp32);
  // Not measured on a GPU yet: auto keeps fp32 there.
  EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA, 0), true), Precision::fp32);
  EXPECT_THROW(resolve_precision("fp16", torch::kCPU, true), Error);
  EXPECT_STREQ(precision_name(Precision::bf16), "bf16");
  EXPECT_STREQ(precision_name(Precision::fp32), "fp32");
}

TEST(PrecisionChoice, AModelWithoutTheKeyIsFp32AndAutoFollowsThisCpu) {
  EXPECT_EQ(precision_of(nlohmann::json::object(), torch::kCPU), Precision::fp32);
  const auto model = nlohmann::json::parse(R"({"training": {"precision": "auto"}})");
  EXPECT_EQ(precision_of(model, torch::kCPU),
            cpu_has_native_bf16() ? Precision::bf16 : Precision::fp32);
  EXPECT_EQ(emulated_bf16(Precision::bf16, torch::kCPU), !cpu_has_native_bf16());
  EXPECT_FALSE(emulated_bf16(Precision::fp32, torch::kCPU));
}

TEST_F(PrecisionTest, ForwardLogitsAreFp32WhateverThePrecision) {
  auto m = model(1);
  m->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor fp32 = forward_logits(*m, x_val, Precision::fp32, torch::kCPU);
  const torch::Tensor bf16 = forward_logits(*m, x_val, Precision::bf16, torch::kCPU);
  EXPECT_EQ(fp32.scalar_type(), torch::kFloat);
  EXPECT_EQ(bf16.scalar_type(), torch::kFloat);
  EXPECT_EQ(head_seen->back(), torch::kBFloat16) << "the Linear ran in fp32 under bf16";
  EXPECT_TRUE(torch::allclose(fp32, bf16, 0.05, 0.05)) << (fp32 - bf16).abs().max();
}

TEST_F(PrecisionTest, Bf16FitRunsEveryPassInBf16AndKeepsFp32WeightsAndStatistics) {
  auto m = model(1);
  const FitResult result = fit(*m, Precision::bf16);
  EXPECT_EQ(result.epochs, 2);
  // Training and validation passes alike: the conv + BatchNorm output and the Linear output.
  EXPECT_EQ(dtypes(*backbone_seen), std::set<torch::ScalarType>{torch::kBFloat16});
  EXPECT_EQ(dtypes(*head_seen), std::set<torch::ScalarType>{torch::kBFloat16});
  for (const auto& p : m->named_parameters()) {
    EXPECT_EQ(p.value().scalar_type(), torch::kFloat) << p.key();
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_EQ(p.value().grad().scalar_type(), torch::kFloat) << p.key() << ": master gradient";
  }
  for (const auto& b : m->named_buffers()) {
    if (b.value().is_floating_point()) {
      EXPECT_EQ(b.value().scalar_type(), torch::kFloat) << b.key();
    }
  }
  EXPECT_FALSE(at::autocast::is_cpu_enabled()) << "the fit left autocast on";
}

TEST_F(PrecisionTest, Fp32FitNeverLeavesFp32) {
  auto m = model(1);
  fit(*m, Precision::fp32);
  EXPECT_EQ(dtypes(*backbone_seen), std::set<torch::ScalarType>{torch::kFloat});
  EXPECT_EQ(dtypes(*head_seen), std::set<torch::ScalarType>{torch::kFloat});
}

TEST_F(PrecisionTest, Bf16FitIsReproducibleBitForBit) {
  auto first = model(5);
  fit(*first, Precision::bf16);
  auto second = model(5);
  fit(*second, Precision::bf16);
  const auto a = testing::state_of(*first), b = testing::state_of(*second);
  EXPECT_TRUE(testing::changed(a, b).empty());
  // And it is not the fp32 fit: the precision changes the numbers.
  auto fp32 = model(5);
  fit(*fp32, Precision::fp32);
  EXPECT_FALSE(testing::changed(a, testing::state_of(*fp32)).empty());
}

TEST_F(PrecisionTest, EvaluateComputesInBf16AndReturnsFp32Probabilities) {
  auto m = model(1);
  TensorBatches val(x_val, y_val, 16);
  const Evaluation fp32 = evaluate(*m, val, OutputMode::sigmoid, 2, torch::kCPU, Precision::fp32);
  head_seen->clear();
  const Evaluation bf16 = evaluate(*m, val, OutputMode::sigmoid, 2, torch::kCPU, Precision::bf16);
  EXPECT_EQ(dtypes(*head_seen), std::set<torch::ScalarType>{torch::kBFloat16});
  ASSERT_EQ(bf16.probabilities.size(), fp32.probabilities.size());
  for (std::size_t i = 0; i < bf16.probabilities.size(); ++i) {
    EXPECT_NEAR(bf16.probabilities[i], fp32.probabilities[i], 0.03) << i;
  }
  EXPECT_EQ(bf16.samples, 24);
}

TEST_F(PrecisionTest, Bf16FeaturesAreStoredAsFp32AndCloseToTheFp32Ones) {
  TinyBackbone backbone;
  TensorBatches images(x_val, y_val, 16);
  const FeatureSet fp32 = extract_features(backbone, images, torch::kCPU, Precision::fp32, "val");
  const FeatureSet bf16 = extract_features(backbone, images, torch::kCPU, Precision::bf16, "val");
  EXPECT_EQ(fp32.features.scalar_type(), torch::kFloat);
  EXPECT_EQ(bf16.features.scalar_type(), torch::kFloat);
  EXPECT_FALSE(torch::equal(fp32.features, bf16.features)) << "bf16 computed nothing in bf16";
  EXPECT_TRUE(torch::allclose(fp32.features, bf16.features, 0.05, 0.05))
      << (fp32.features - bf16.features).abs().max();
  EXPECT_TRUE(torch::equal(fp32.labels, bf16.labels));
}

}  // namespace
}  // namespace tlr
