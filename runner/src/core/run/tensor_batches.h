// Batches over tensors held in memory (cached bottleneck features): shuffled per epoch from the
// seed when asked, so a run replays exactly.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "tlr/strategy.h"

namespace tlr {

class TensorBatches : public Batches {
 public:
  // inputs: N×…, labels: N int64.
  TensorBatches(torch::Tensor inputs, torch::Tensor labels, std::int64_t batch_size, bool shuffle,
                std::uint64_t seed);
  std::size_t samples() const override;
  void start_epoch(int epoch) override;
  bool next(torch::Tensor& inputs, torch::Tensor& labels) override;

 private:
  torch::Tensor inputs_, labels_;
  std::int64_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  torch::Tensor order_;
  std::int64_t position_ = 0;
};

}  // namespace tlr
