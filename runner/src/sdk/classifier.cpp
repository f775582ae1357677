#include <torch/torch.h>

#include "tlr/strategy.h"

namespace tlr {

Classifier::Classifier(std::shared_ptr<Backbone> backbone_module, torch::nn::Sequential head_module)
    : backbone(std::move(backbone_module)), head(std::move(head_module)) {
  if (backbone) register_module("backbone", backbone);
  register_module("head", head);
}

Classifier::~Classifier() = default;

torch::Tensor Classifier::forward(torch::Tensor inputs) {
  if (backbone) inputs = backbone->forward(inputs);
  return head->forward(inputs);
}

void Classifier::train(bool on) {
  torch::nn::Module::train(on);
  if (!on || !freeze_batchnorm || !backbone) return;
  // A BatchNorm layer whose parameters are all frozen keeps its running statistics.
  for (auto& child : backbone->modules(/*include_self=*/false)) {
    const std::string kind = child->name();
    if (kind.find("BatchNorm") == std::string::npos) continue;
    bool trainable = false;
    for (const auto& p : child->parameters(/*recurse=*/false)) trainable |= p.requires_grad();
    if (!trainable) child->eval();
  }
}

}  // namespace tlr
