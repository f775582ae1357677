// Applying a trained model to images (`runner predict`, and `runner evaluate` through the same
// pass). Images go through the run's evaluation preprocessing (SplitImages with data.input's eval
// fit, then ImageBatches' normalisation, no augmentation) and the model in batches; the next
// chunk of images is decoded by worker threads while the current one runs through the model.
//
// Same file, same batch size and thread count as the run's test evaluation → the same
// probabilities, bit for bit, for the same images (tests/use/predict_test.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/use/trained_model.h"
#include "engine/data/split_images.h"
#include "tlr/dataset.h"

namespace tlr {

struct PredictOptions {
  std::size_t batch_size = 32;
  int workers = 1;  // decoding threads
  Precision precision = Precision::fp32;
  torch::Device device = torch::kCPU;
  std::size_t chunk = 1024;  // most images decoded at a time (rounded up to whole batches)
};

// One image's result: its dataset index, the label the dataset gave it, the predicted class and
// the probability of every class (model.classes order).
struct ImagePrediction {
  std::size_t index = 0;
  int label = 0;
  std::int64_t predicted = 0;
  std::vector<float> probabilities;
};

struct PredictSummary {
  std::size_t predicted = 0;
  std::vector<BadImage> failed;        // images that could not be read, in dataset order
  std::vector<ImageWarning> warnings;  // images predicted despite a decode warning, in order
  double seconds = 0;                  // wall time, decoding included
};

// Runs `model` over every image of `dataset` (indices 0..size-1, in order), calling `on_result`
// for each image predicted, in dataset order. A dataset label maps to a model class through
// `label_map` (empty: identity). Throws what the model or a callback throws.
PredictSummary predict_images(const TrainedModel& model, const Dataset& dataset,
                              const std::vector<int>& label_map, const PredictOptions& options,
                              const std::function<void(const ImagePrediction&)>& on_result);

}  // namespace tlr
