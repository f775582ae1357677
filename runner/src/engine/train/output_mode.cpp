#include "engine/train/output_mode.h"

#include <torch/torch.h>

#include "tlr/error.h"

namespace tlr {

const char* output_mode_name(OutputMode mode) {
  return mode == OutputMode::sigmoid ? "sigmoid" : "softmax";
}

OutputMode output_mode_for(int classes, const std::string& requested) {
  if (classes < 2) {
    throw Error("output: a classifier needs at least 2 classes, the data has " +
                std::to_string(classes));
  }
  if (requested == "auto") return classes == 2 ? OutputMode::sigmoid : OutputMode::softmax;
  if (requested == "softmax") return OutputMode::softmax;
  if (requested == "sigmoid") {
    if (classes == 2) return OutputMode::sigmoid;
    throw Error("output: 'sigmoid' needs exactly 2 classes, the data has " +
                std::to_string(classes) +
                "; one sigmoid unit cannot choose among more (use 'softmax' or 'auto')");
  }
  throw Error("output: unknown value '" + requested + "'; expected auto, sigmoid or softmax");
}

std::int64_t output_units(OutputMode mode, int classes) {
  return mode == OutputMode::sigmoid ? 1 : classes;
}

namespace {

void check_shape(OutputMode mode, const torch::Tensor& logits) {
  if (logits.dim() != 2 || (mode == OutputMode::sigmoid && logits.size(1) != 1)) {
    std::string shape;
    for (auto d : logits.sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
    throw Error(std::string("output: the model gives logits of shape ") + shape +
                ", expected N x " +
                (mode == OutputMode::sigmoid ? "1 for sigmoid output" : "classes for softmax"));
  }
}

}  // namespace

torch::Tensor output_loss(OutputMode mode, const torch::Tensor& logits,
                          const torch::Tensor& labels) {
  check_shape(mode, logits);
  if (mode == OutputMode::sigmoid) {
    return torch::binary_cross_entropy_with_logits(logits.view({-1}),
                                                   labels.to(logits.scalar_type()));
  }
  return torch::nn::functional::cross_entropy(logits, labels.to(torch::kLong));
}

torch::Tensor output_predictions(OutputMode mode, const torch::Tensor& logits) {
  check_shape(mode, logits);
  // sigmoid(x) > 0.5 exactly when x > 0.
  if (mode == OutputMode::sigmoid) return (logits.view({-1}) > 0).to(torch::kLong);
  return logits.argmax(1);
}

torch::Tensor output_probabilities(OutputMode mode, const torch::Tensor& logits) {
  if (mode == OutputMode::sigmoid) {
    torch::Tensor positive = torch::sigmoid(logits.reshape({-1, 1}));
    return torch::cat({1 - positive, positive}, 1);
  }
  return torch::softmax(logits, 1);
}

}  // namespace tlr
