// Parameter counts recorded with a run.
#pragma once

#include <torch/nn/module.h>

#include <cstdint>

#include "tlr/abi.h"

namespace tlr {

// Elements of the parameters that train (requires_grad).
TLR_API std::int64_t count_trainable(torch::nn::Module& model);
// Elements of every parameter (buffers such as BatchNorm statistics excluded).
TLR_API std::int64_t count_parameters(torch::nn::Module& model);

}  // namespace tlr
