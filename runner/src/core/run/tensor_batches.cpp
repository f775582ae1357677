#include "core/run/tensor_batches.h"

#include <torch/torch.h>

#include <algorithm>
#include <vector>

#include "engine/util/pinned_random.h"

namespace tlr {

TensorBatches::TensorBatches(torch::Tensor inputs, torch::Tensor labels, std::int64_t batch_size,
                             bool shuffle, std::uint64_t seed)
    : inputs_(std::move(inputs)),
      labels_(std::move(labels)),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed) {
  start_epoch(0);
}

std::size_t TensorBatches::samples() const { return static_cast<std::size_t>(inputs_.size(0)); }

void TensorBatches::start_epoch(int epoch) {
  position_ = 0;
  const std::int64_t n = inputs_.size(0);
  if (!shuffle_) {
    order_ = torch::arange(n, torch::kLong);
    return;
  }
  // shuffled_order draws from a generator of its own seeded from (seed, epoch): the order does not
  // depend on what else drew random numbers before, nor on the libtorch version.
  const std::vector<std::uint32_t> order =
      shuffled_order(static_cast<std::size_t>(n), seed_, epoch);
  order_ = torch::empty({n}, torch::kLong);
  std::copy(order.begin(), order.end(), order_.data_ptr<std::int64_t>());
}

bool TensorBatches::next(torch::Tensor& inputs, torch::Tensor& labels) {
  const std::int64_t n = inputs_.size(0);
  if (position_ >= n) return false;
  const std::int64_t end = std::min(n, position_ + batch_size_);
  torch::Tensor index = order_.slice(0, position_, end);
  inputs = inputs_.index_select(0, index);
  labels = labels_.index_select(0, index);
  position_ = end;
  return true;
}

}  // namespace tlr
