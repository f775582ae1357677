// TensorBatches: batch sizes, the last partial batch, split order without shuffle, and a shuffled
// epoch order that depends on (seed, epoch) only.
#include "engine/data/tensor_batches.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/util/pinned_random.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

// n samples; row i of the inputs is (i, 10 i), its label i, so labels reveal the order.
TensorBatches numbered(std::int64_t n, std::int64_t batch, bool shuffle, std::uint64_t seed = 42) {
  torch::Tensor labels = torch::arange(n, torch::kInt64);
  torch::Tensor inputs =
      torch::stack({labels.to(torch::kFloat32), labels.to(torch::kFloat32) * 10}, 1);
  return TensorBatches(inputs, labels, batch, shuffle, seed);
}

struct Epoch {
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> labels;
};

Epoch run_epoch(TensorBatches& batches, int epoch) {
  Epoch e;
  batches.start_epoch(epoch);
  torch::Tensor x, y;
  while (batches.next(x, y)) {
    EXPECT_EQ(x.size(0), y.size(0));
    EXPECT_EQ(x.size(1), 2);
    for (std::int64_t i = 0; i < y.size(0); ++i) {
      const std::int64_t label = y[i].item<std::int64_t>();
      EXPECT_EQ(x[i][0].item<float>(), static_cast<float>(label));  // rows travel with labels
      EXPECT_EQ(x[i][1].item<float>(), static_cast<float>(10 * label));
      e.labels.push_back(label);
    }
    e.sizes.push_back(y.size(0));
  }
  return e;
}

std::vector<std::int64_t> widen(const std::vector<std::uint32_t>& order) {
  return std::vector<std::int64_t>(order.begin(), order.end());
}

TEST(TensorBatches, FullBatchesThenTheRest) {
  TensorBatches batches = numbered(10, 4, false);
  EXPECT_EQ(batches.samples(), 10u);
  EXPECT_EQ(batches.steps(), 3u);
  EXPECT_EQ(run_epoch(batches, 0).sizes, (std::vector<std::int64_t>{4, 4, 2}));
  TensorBatches exact = numbered(8, 4, true);
  EXPECT_EQ(exact.steps(), 2u);
  EXPECT_EQ(run_epoch(exact, 0).sizes, (std::vector<std::int64_t>{4, 4}));
  TensorBatches one = numbered(3, 50, true);
  EXPECT_EQ(one.steps(), 1u);
  EXPECT_EQ(run_epoch(one, 0).sizes, (std::vector<std::int64_t>{3}));
}

TEST(TensorBatches, ReadyForEpochZeroAndStopsAtTheEnd) {
  TensorBatches batches = numbered(3, 2, true);
  torch::Tensor x, y;
  ASSERT_TRUE(batches.next(x, y));
  ASSERT_TRUE(batches.next(x, y));
  EXPECT_EQ(y.size(0), 1);
  EXPECT_FALSE(batches.next(x, y));
  EXPECT_FALSE(batches.next(x, y));
  // start_epoch rewinds.
  EXPECT_EQ(run_epoch(batches, 0).labels, widen(shuffled_order(3, 42, 0)));
}

TEST(TensorBatches, EmptySetHasNoBatches) {
  TensorBatches batches(torch::zeros({0, 5}), torch::zeros({0}, torch::kInt64), 4, true, 1);
  EXPECT_EQ(batches.samples(), 0u);
  EXPECT_EQ(batches.steps(), 0u);
  EXPECT_TRUE(run_epoch(batches, 0).sizes.empty());
}

TEST(TensorBatches, UnshuffledEveryEpochIsTheSplitOrder) {
  TensorBatches batches = numbered(7, 3, false);
  const std::vector<std::int64_t> split_order = {0, 1, 2, 3, 4, 5, 6};
  for (int epoch : {0, 1, 5}) EXPECT_EQ(run_epoch(batches, epoch).labels, split_order);
  TensorBatches other_seed = numbered(7, 3, false, 99);
  EXPECT_EQ(run_epoch(other_seed, 3).labels, split_order);
}

// The order is shuffled_order(N, seed, epoch): pinned, and the same as ImageBatches' order.
TEST(TensorBatches, ShuffledEpochIsThePinnedOrderOfSeedAndEpoch) {
  TensorBatches batches = numbered(10, 4, true);
  EXPECT_EQ(run_epoch(batches, 0).labels,
            (std::vector<std::int64_t>{0, 3, 8, 4, 5, 6, 1, 7, 2, 9}));
  EXPECT_EQ(run_epoch(batches, 1).labels,
            (std::vector<std::int64_t>{8, 9, 4, 3, 1, 6, 2, 7, 0, 5}));
  for (int epoch : {2, 7, -1}) {
    EXPECT_EQ(run_epoch(batches, epoch).labels, widen(shuffled_order(10, 42, epoch))) << epoch;
  }
}

TEST(TensorBatches, ShuffledOrderDependsOnlyOnSeedAndEpoch) {
  TensorBatches first = numbered(25, 4, true, 7);
  const std::vector<std::int64_t> epoch3 = run_epoch(first, 3).labels;
  // Another object, epochs in another order, libtorch's global generator reseeded and drawn from:
  // epoch 3 is the same.
  torch::manual_seed(123);
  TensorBatches second = numbered(25, 4, true, 7);
  run_epoch(second, 0);
  (void)torch::rand({100});
  run_epoch(second, 9);
  EXPECT_EQ(run_epoch(second, 3).labels, epoch3);
  torch::manual_seed(456);
  EXPECT_EQ(run_epoch(first, 3).labels, epoch3);
  // A different epoch or seed is another order; the batch size does not matter.
  EXPECT_NE(run_epoch(first, 4).labels, epoch3);
  TensorBatches other_seed = numbered(25, 4, true, 8);
  EXPECT_NE(run_epoch(other_seed, 3).labels, epoch3);
  TensorBatches other_batch = numbered(25, 6, true, 7);
  EXPECT_EQ(run_epoch(other_batch, 3).labels, epoch3);
}

TEST(TensorBatches, RejectsMismatchedInputs) {
  EXPECT_THROW_MSG(numbered(4, 0, true), Error, "training.batch_size: error: must be at least 1");
  EXPECT_THROW_MSG(
      TensorBatches(torch::zeros({4, 2}), torch::zeros({3}, torch::kInt64), 2, false, 1), Error,
      "batches: error: 4 inputs but 3 labels");
  EXPECT_THROW_MSG(
      TensorBatches(torch::zeros({4, 2}), torch::zeros({4}, torch::kFloat32), 2, false, 1), Error,
      "batches: error: the labels must be one int64 per sample");
  EXPECT_THROW_MSG(
      TensorBatches(torch::scalar_tensor(1.0), torch::zeros({1}, torch::kInt64), 2, false, 1),
      Error, "batches: error: the inputs need a sample dimension");
}

// A batch is a copy: changing it, or the source tensors, does not change the other.
TEST(TensorBatches, BatchesAreCopies) {
  torch::Tensor inputs = torch::arange(6, torch::kFloat32).reshape({3, 2});
  torch::Tensor labels = torch::arange(3, torch::kInt64);
  TensorBatches batches(inputs, labels, 3, false, 0);
  torch::Tensor x, y;
  ASSERT_TRUE(batches.next(x, y));
  x.fill_(-1);
  inputs[0][0] = 100;
  EXPECT_EQ(x[0][0].item<float>(), -1);
  batches.start_epoch(1);
  ASSERT_TRUE(batches.next(x, y));
  EXPECT_EQ(x[0][0].item<float>(), 100);  // the source is shared, not copied at construction
  EXPECT_EQ(x[1][0].item<float>(), 2);
}

}  // namespace
}  // namespace tlr
