// A head plugin: the trainable classifier on top of the backbone's features.
#pragma once

#include <torch/nn/modules/container/sequential.h>

#include <cstdint>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

class TLR_API Head {
 public:
  virtual ~Head();
  // Builds a fresh classifier for features of shape `in_shape` (no batch axis) with `outputs`
  // logits. The runner chooses `outputs` and the loss from the class count (2 classes: one logit
  // with sigmoid/BCE by default); a head never adds its own output activation.
  virtual torch::nn::Sequential build(const std::vector<std::int64_t>& in_shape,
                                      std::int64_t outputs) const = 0;
};

}  // namespace tlr
