// Parameter counts recorded with a run.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>

namespace tlr {

// Elements of the parameters that train (requires_grad).
std::int64_t count_trainable(torch::nn::Module& model);
// Elements of every parameter (buffers such as BatchNorm statistics excluded).
std::int64_t count_parameters(torch::nn::Module& model);

}  // namespace tlr
