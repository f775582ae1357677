#include "engine/train/forward_pass.h"

#include <torch/torch.h>

namespace tlr {

torch::Tensor forward_logits(Classifier& model, const torch::Tensor& inputs, Precision precision,
                             torch::Device device) {
  torch::Tensor logits;
  {
    AutocastScope autocast(precision, device);
    logits = model.forward(inputs);
  }
  return logits.scalar_type() == torch::kFloat ? logits : logits.to(torch::kFloat);
}

}  // namespace tlr
