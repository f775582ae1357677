#include "engine/train/parameters.h"

#include <torch/torch.h>

namespace tlr {

std::int64_t count_trainable(torch::nn::Module& model) {
  std::int64_t n = 0;
  for (const auto& p : model.parameters()) {
    if (p.requires_grad()) n += p.numel();
  }
  return n;
}

std::int64_t count_parameters(torch::nn::Module& model) {
  std::int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace tlr
