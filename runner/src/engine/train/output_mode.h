// How logits become a loss and predictions. It follows from the class count, so that a multi-class
// model can never end in a single sigmoid (the mistake in multiclass_folder.yaml's original;
// docs/experiments.md).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace tlr {

enum class OutputMode {
  sigmoid,  // two classes: one logit, BCEWithLogits, predicted 1 when sigmoid(logit) > 0.5
  softmax,  // one logit per class, cross-entropy, predicted argmax
};

const char* output_mode_name(OutputMode mode);  // "sigmoid" | "softmax"

// `requested` is the YAML's `output`: "auto" (2 classes: sigmoid, more: softmax), "sigmoid" or
// "softmax". Throws tlr::Error for sigmoid with more than 2 classes, fewer than 2 classes, or an
// unknown value.
OutputMode output_mode_for(int classes, const std::string& requested);

// Logits the head must produce: 1 for sigmoid, `classes` for softmax.
std::int64_t output_units(OutputMode mode, int classes);

// Mean loss of a batch. logits: N×units; labels: N int64 class indices. Throws tlr::Error when
// the logits do not have the mode's shape (a head built for another class count).
torch::Tensor output_loss(OutputMode mode, const torch::Tensor& logits,
                          const torch::Tensor& labels);
// Class probabilities (N×classes, float): softmax of the logits, or {1 - p, p} for a sigmoid
// output p (the probability of class 1).
torch::Tensor output_probabilities(OutputMode mode, const torch::Tensor& logits);
// Predicted class indices (N, int64).
torch::Tensor output_predictions(OutputMode mode, const torch::Tensor& logits);

}  // namespace tlr
