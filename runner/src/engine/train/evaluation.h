// Test metrics of a trained model: what Cell::evaluate records with the run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/train/output_mode.h"
#include "tlr/precision.h"
#include "tlr/strategy.h"

namespace tlr {

struct ClassMetrics {
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  std::int64_t support = 0;  // true samples of the class
};

struct Evaluation {
  std::int64_t samples = 0;
  double loss = 0;
  double accuracy = 0;
  // Headline precision/recall/F1: for 2 classes those of the positive class (label 1, sklearn's
  // average='binary'); for more classes the unweighted mean over classes (average='macro').
  std::string average;  // "binary" | "macro"
  double precision = 0;
  double recall = 0;
  double f1 = 0;
  double macro_precision = 0;
  double macro_recall = 0;
  double macro_f1 = 0;
  std::vector<ClassMetrics> per_class;
  std::vector<std::vector<std::int64_t>> confusion;  // [true label][predicted label]
  // Per sample, in the order the batches gave them (evaluate() only; score_predictions leaves
  // probabilities empty): true and predicted label, and the class probabilities, row-major
  // samples x classes (softmax; a sigmoid output p gives {1 - p, p}).
  std::vector<std::int64_t> labels, predicted;
  std::vector<float> probabilities;
};

// Runs `model` in inference mode over every batch of `test` (start_epoch(0)).
// The model and each batch run on `device`, in `precision` (forward_pass.h); the counts come back
// to the CPU, the probabilities computed from fp32 logits.
Evaluation evaluate(Classifier& model, Batches& test, OutputMode mode, int classes,
                    torch::Device device = torch::kCPU, Precision precision = Precision::fp32);

// Metrics of given predictions; a ratio with a zero denominator is 0 (sklearn's zero_division=0).
// `loss` is copied into the result. Throws tlr::Error for a label outside [0, classes).
Evaluation score_predictions(const std::vector<std::int64_t>& labels,
                             const std::vector<std::int64_t>& predicted, int classes,
                             double loss = 0);

}  // namespace tlr
