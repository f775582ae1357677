// A trained classifier described as torch.nn constructor calls, so that Python rebuilds the same
// module tree with the same parameter names and loads the exported state dict into it (`runner
// export`, README "Use a trained model"). Each node is one JSON object:
//   {"name": "features", "type": "Sequential", "children": [...]}
//   {"name": "0", "type": "Conv2d", "kwargs": {"in_channels": 1, "out_channels": 16, ...}}
// and rebuilding is `getattr(torch.nn, type)(**kwargs)`, children in order for a Sequential.
// Only what a Python torch.nn.Sequential computes the same way is described: libtorch's
// Sequential, Conv2d, Linear, BatchNorm1d/2d, ReLU, ReLU6, LeakyReLU, ELU, GELU, SiLU, Sigmoid,
// Tanh, Softmax, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d, Dropout, Dropout2d,
// Flatten and Identity. A backbone is described through its stages (SequentialBackbone): each
// stage by the name it is registered under in the backbone (so tensor names stay those of the
// C++ model: torchvision's for the bundled VGG), an unregistered stateless stage by a made-up
// name. Anything else (a residual block, a custom module, a backbone that is not a chain of
// stages) makes the layout unavailable, with the reason.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tlr/backbone.h"

namespace tlr {

struct ModuleLayout {
  // {"name": "", "type": "Sequential", "children": [backbone?, head]}; null when unavailable.
  nlohmann::json layout;
  std::string problem;               // why it is unavailable ("" when available)
  std::vector<std::string> tensors;  // the state-dict keys the layout has, in module order
};

// `backbone` may be null (a model on features: the layout is the head alone, "head" child).
// `head` is the classifier's head. Tensor names are those of Classifier(backbone, head).
ModuleLayout describe_classifier(const Backbone* backbone, const torch::nn::Module& head);

}  // namespace tlr
