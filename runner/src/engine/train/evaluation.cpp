#include "engine/train/evaluation.h"

#include <torch/torch.h>

#include "engine/train/forward_pass.h"
#include "engine/util/fault_point.h"
#include "tlr/error.h"

namespace tlr {

namespace {

double ratio(double num, double den) { return den > 0 ? num / den : 0; }

}  // namespace

Evaluation score_predictions(const std::vector<std::int64_t>& labels,
                             const std::vector<std::int64_t>& predicted, int classes, double loss) {
  if (labels.size() != predicted.size()) {
    throw Error("evaluation: " + std::to_string(labels.size()) + " labels but " +
                std::to_string(predicted.size()) + " predictions");
  }
  Evaluation e;
  e.samples = static_cast<std::int64_t>(labels.size());
  e.loss = loss;
  e.confusion.assign(classes, std::vector<std::int64_t>(classes, 0));
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const std::int64_t t = labels[i], p = predicted[i];
    if (t < 0 || t >= classes || p < 0 || p >= classes) {
      throw Error("evaluation: label " + std::to_string(t < 0 || t >= classes ? t : p) +
                  " outside the " + std::to_string(classes) + " classes");
    }
    ++e.confusion[t][p];
    correct += t == p;
  }
  e.accuracy = ratio(static_cast<double>(correct), static_cast<double>(e.samples));

  e.per_class.resize(classes);
  for (int c = 0; c < classes; ++c) {
    std::int64_t tp = e.confusion[c][c], predicted_c = 0, actual_c = 0;
    for (int k = 0; k < classes; ++k) {
      predicted_c += e.confusion[k][c];
      actual_c += e.confusion[c][k];
    }
    ClassMetrics& m = e.per_class[c];
    m.support = actual_c;
    m.precision = ratio(static_cast<double>(tp), static_cast<double>(predicted_c));
    m.recall = ratio(static_cast<double>(tp), static_cast<double>(actual_c));
    m.f1 = ratio(2 * m.precision * m.recall, m.precision + m.recall);
    e.macro_precision += m.precision / classes;
    e.macro_recall += m.recall / classes;
    e.macro_f1 += m.f1 / classes;
  }
  if (classes == 2) {
    e.average = "binary";
    e.precision = e.per_class[1].precision;
    e.recall = e.per_class[1].recall;
    e.f1 = e.per_class[1].f1;
  } else {
    e.average = "macro";
    e.precision = e.macro_precision;
    e.recall = e.macro_recall;
    e.f1 = e.macro_f1;
  }
  return e;
}

Evaluation evaluate(Classifier& model, Batches& test, OutputMode mode, int classes,
                    torch::Device device, Precision precision) {
  torch::NoGradGuard no_grad;
  model.to(device);
  model.eval();
  test.start_epoch(0);
  std::vector<std::int64_t> labels, predicted;
  std::vector<float> probabilities;
  double loss_sum = 0;
  torch::Tensor inputs, batch_labels;
  while (test.next(inputs, batch_labels)) {
    inputs = inputs.to(device);
    batch_labels = batch_labels.to(device);
    torch::Tensor logits = forward_logits(model, inputs, precision, device);
    fault_point("evaluation_batch");
    loss_sum += output_loss(mode, logits, batch_labels).item<double>() * batch_labels.size(0);
    torch::Tensor p = output_predictions(mode, logits).to(torch::kCPU).contiguous();
    torch::Tensor l = batch_labels.to(torch::kCPU).to(torch::kLong).contiguous();
    labels.insert(labels.end(), l.data_ptr<std::int64_t>(), l.data_ptr<std::int64_t>() + l.numel());
    predicted.insert(predicted.end(), p.data_ptr<std::int64_t>(),
                     p.data_ptr<std::int64_t>() + p.numel());
    torch::Tensor probs = output_probabilities(mode, logits);
    probs = probs.to(torch::kCPU).contiguous();
    probabilities.insert(probabilities.end(), probs.data_ptr<float>(),
                         probs.data_ptr<float>() + probs.numel());
  }
  if (labels.empty()) throw Error("evaluation: the test split gave no batches");
  Evaluation e =
      score_predictions(labels, predicted, classes, loss_sum / static_cast<double>(labels.size()));
  e.labels = std::move(labels);
  e.predicted = std::move(predicted);
  e.probabilities = std::move(probabilities);
  return e;
}

}  // namespace tlr
