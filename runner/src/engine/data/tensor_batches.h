// Batches over tensors held in memory: the cached bottleneck features of a split, which a strategy
// trains a head on instead of running the backbone (ImageBatches is the same for images).
//
// Ownership and lifetime: keeps references to the tensors it is given (torch::Tensor shares its
// storage; nothing is copied at construction), so the caller may drop its own. Every batch next()
// returns is a new tensor (the rows are copied), valid after this object is gone and unaffected by
// later batches.
// Threads: starts none. Like every Batches, one pass at a time, from one thread.
// Order: without shuffle, every epoch is rows 0 .. N-1. With shuffle, epoch e is
// shuffled_order(N, seed, e) (engine/util/pinned_random.h), the order ImageBatches gives N
// samples with the same seed: it depends on (seed, epoch) only, not on earlier epochs, other
// random draws, the libtorch version or the thread count.
// Batches: ceil(N / batch_size) an epoch, each of batch_size rows except the last, which holds the
// rest.
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <cstdint>

#include "tlr/strategy.h"

namespace tlr {

class TensorBatches : public Batches {
 public:
  // inputs: N × … (at least one dimension), labels: N int64 (N may be 0); batch_size >= 1.
  // Throws tlr::Error otherwise. Ready for epoch 0 (start_epoch(0) is implied).
  TensorBatches(torch::Tensor inputs, torch::Tensor labels, std::int64_t batch_size, bool shuffle,
                std::uint64_t seed);
  std::size_t samples() const override;
  std::size_t steps() const;  // batches an epoch
  // Starts epoch `epoch` (any integer; the trainer's count) from its first batch.
  void start_epoch(int epoch) override;
  // The next batch of the epoch: inputs b × …, labels b; false after the last one.
  bool next(torch::Tensor& inputs, torch::Tensor& labels) override;

 private:
  torch::Tensor inputs_, labels_;
  std::int64_t batch_size_;
  bool shuffle_;
  std::uint64_t seed_;
  torch::Tensor order_;  // N int64: the rows of this epoch, in order
  std::int64_t position_ = 0;
};

}  // namespace tlr
