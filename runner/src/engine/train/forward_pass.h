// One forward pass of a classifier in the cell's precision: what the trainer, the evaluator and
// the probe call, so that every pass of a cell computes alike.
#pragma once

#include <torch/types.h>

#include "tlr/precision.h"
#include "tlr/strategy.h"

namespace tlr {

// model.forward(inputs) under AutocastScope(precision, device); the logits come back as fp32
// (losses, probabilities and predictions are computed in fp32 whatever the precision). Autograd
// records the casts, so backward() of a loss of the result runs the same precision.
torch::Tensor forward_logits(Classifier& model, const torch::Tensor& inputs, Precision precision,
                             torch::Device device);

}  // namespace tlr
