#include "engine/data/tensor_batches.h"

#include <torch/torch.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "engine/util/pinned_random.h"
#include "tlr/error.h"

namespace tlr {

TensorBatches::TensorBatches(torch::Tensor inputs, torch::Tensor labels, std::int64_t batch_size,
                             bool shuffle, std::uint64_t seed)
    : inputs_(std::move(inputs)),
      labels_(std::move(labels)),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed) {
  if (batch_size_ < 1) throw Error("training.batch_size: error: must be at least 1");
  if (!inputs_.defined() || inputs_.dim() < 1) {
    throw Error("batches: error: the inputs need a sample dimension");
  }
  if (!labels_.defined() || labels_.dim() != 1 || labels_.scalar_type() != torch::kInt64) {
    throw Error("batches: error: the labels must be one int64 per sample");
  }
  if (labels_.size(0) != inputs_.size(0)) {
    throw Error("batches: error: " + std::to_string(inputs_.size(0)) + " inputs but " +
                std::to_string(labels_.size(0)) + " labels");
  }
  start_epoch(0);
}

std::size_t TensorBatches::samples() const { return static_cast<std::size_t>(inputs_.size(0)); }

std::size_t TensorBatches::steps() const {
  return static_cast<std::size_t>((inputs_.size(0) + batch_size_ - 1) / batch_size_);
}

void TensorBatches::start_epoch(int epoch) {
  position_ = 0;
  const std::int64_t n = inputs_.size(0);
  if (!shuffle_) {
    order_ = torch::arange(n, torch::kInt64);
    return;
  }
  const std::vector<std::uint32_t> order =
      shuffled_order(static_cast<std::size_t>(n), seed_, epoch);
  order_ = torch::empty({n}, torch::kInt64);
  std::copy(order.begin(), order.end(), order_.data_ptr<std::int64_t>());
}

bool TensorBatches::next(torch::Tensor& inputs, torch::Tensor& labels) {
  const std::int64_t n = inputs_.size(0);
  if (position_ >= n) return false;
  const std::int64_t end = std::min(n, position_ + batch_size_);
  const torch::Tensor index = order_.slice(0, position_, end);
  inputs = inputs_.index_select(0, index);
  labels = labels_.index_select(0, index);
  position_ = end;
  return true;
}

}  // namespace tlr
