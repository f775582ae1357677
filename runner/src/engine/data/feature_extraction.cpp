#include "engine/data/feature_extraction.h"

#include <torch/torch.h>

#include <vector>

#include "tlr/error.h"

namespace tlr {

FeatureSet extract_features(Backbone& backbone, Batches& images, torch::Device device,
                            Precision precision, const std::string& split,
                            const std::function<void()>& between_batches) {
  torch::NoGradGuard no_grad;
  const bool was_training = backbone.is_training();
  backbone.eval();
  std::vector<torch::Tensor> outputs, labels;
  images.start_epoch(0);
  torch::Tensor x, y;
  while (true) {
    if (between_batches) between_batches();
    if (!images.next(x, y)) break;
    torch::Tensor features;
    {
      AutocastScope autocast(precision, device);
      features = backbone.forward(x.to(device));
    }
    outputs.push_back(features.to(torch::kCPU, torch::kFloat));
    labels.push_back(y.to(torch::kCPU));
  }
  backbone.train(was_training);
  if (outputs.empty()) throw Error("the " + split + " split is empty");
  return FeatureSet{torch::cat(outputs), torch::cat(labels), false};
}

}  // namespace tlr
