// The smallest head a test plugin needs: Flatten, then one Linear layer to the outputs.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "tlr/head.h"

namespace tlr::testing {

class FlatHead : public tlr::Head {
 public:
  torch::nn::Sequential build(const std::vector<std::int64_t>& in_shape,
                              std::int64_t outputs) const override {
    std::int64_t features = 1;
    for (auto d : in_shape) features *= d;
    return torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(features, outputs));
  }
};

}  // namespace tlr::testing
