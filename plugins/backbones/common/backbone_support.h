// What the bundled torchvision-style backbones share. Header-only and SDK-only, so that each
// backbone stays one self-contained .so.
#pragma once

#include <torch/torch.h>

namespace tlr::backbones {

// torchvision's initialisation of VGG, ResNet and MobileNetV2: Kaiming-normal convolution weights
// (fan_out, ReLU gain), zero convolution biases, BatchNorm weight 1 and bias 0. Modules are visited
// in registration order, so the same seed gives the same weights.
inline void init_like_torchvision(torch::nn::Module& root) {
  torch::NoGradGuard no_grad;
  for (auto& module : root.modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0, torch::kFanOut, torch::kReLU);
      if (conv->bias.defined()) torch::nn::init::zeros_(conv->bias);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
}

}  // namespace tlr::backbones
