#include "core/use/predict.h"

#include <torch/torch.h>

#include <chrono>
#include <future>

#include "engine/data/image_batches.h"
#include "engine/train/forward_pass.h"
#include "engine/train/output_mode.h"

namespace tlr {

PredictSummary predict_images(const TrainedModel& model, const Dataset& dataset,
                              const std::vector<int>& label_map, const PredictOptions& options,
                              const std::function<void(const ImagePrediction&)>& on_result) {
  const auto start = std::chrono::steady_clock::now();
  PredictSummary summary;
  const std::size_t batch = std::max<std::size_t>(1, options.batch_size);
  const std::size_t max_chunk = (std::max(options.chunk, batch) + batch - 1) / batch * batch;
  const std::size_t total = dataset.size();
  // Chunk boundaries: the first chunk is one batch and each next one twice the last, up to
  // max_chunk, so that the model starts after one batch is decoded (the first chunk is the only
  // decode not overlapped with the model) while later chunks are large enough to keep every
  // decoding thread busy. Whole batches each: the batches are those of the run's evaluation.
  std::vector<std::size_t> starts;
  for (std::size_t first = 0, size = batch; first < total; first += size) {
    starts.push_back(first);
    if (first > 0) size = std::min(2 * size, max_chunk);
  }
  starts.push_back(total);
  const InputSpec& input = model.input;

  SplitImagesOptions decode;
  decode.workers = std::max(1, options.workers);
  decode.on_bad_image = OnBadImage::skip;
  decode.fit = input.eval_fit;
  auto indices_of = [&](std::size_t chunk) {
    std::vector<std::size_t> indices;
    for (std::size_t i = starts[chunk]; i < starts[chunk + 1]; ++i) indices.push_back(i);
    return indices;
  };
  auto load = [&](std::vector<std::size_t> indices) {
    return SplitImages::load(dataset, indices, input.channels, input.height, input.width, decode);
  };

  torch::NoGradGuard no_grad;
  model.classifier->to(options.device);
  model.classifier->eval();
  std::future<std::shared_ptr<const SplitImages>> next;
  const std::size_t chunks = starts.size() - 1;
  if (chunks > 0) next = std::async(std::launch::async, load, indices_of(0));
  for (std::size_t chunk = 0; chunk < chunks; ++chunk) {
    const std::vector<std::size_t> indices = indices_of(chunk);
    std::shared_ptr<const SplitImages> images = next.get();
    if (chunk + 1 < chunks) next = std::async(std::launch::async, load, indices_of(chunk + 1));
    summary.failed.insert(summary.failed.end(), images->bad_images().begin(),
                          images->bad_images().end());
    summary.warnings.insert(summary.warnings.end(), images->warnings().begin(),
                            images->warnings().end());
    if (images->size() == 0) continue;
    BatchOptions batches_options;
    batches_options.batch_size = batch;
    batches_options.workers = 1;  // assembles normalised batches while the model runs
    ImageBatches batches(dataset, indices, label_map, input, nullptr, batches_options, images);
    batches.start_epoch(0);
    torch::Tensor inputs, labels;
    std::size_t k = 0;
    while (batches.next(inputs, labels)) {
      torch::Tensor logits = forward_logits(*model.classifier, inputs.to(options.device),
                                            options.precision, options.device);
      torch::Tensor probabilities =
          output_probabilities(model.mode, logits).to(torch::kCPU).contiguous();
      torch::Tensor predicted = output_predictions(model.mode, logits).to(torch::kCPU);
      torch::Tensor label = labels.to(torch::kCPU).to(torch::kLong);
      const std::int64_t classes = probabilities.size(1);
      for (std::int64_t row = 0; row < probabilities.size(0); ++row, ++k) {
        ImagePrediction result;
        result.index = batches.dataset_index(k);
        result.label = static_cast<int>(label[row].item<std::int64_t>());
        result.predicted = predicted[row].item<std::int64_t>();
        const float* p = probabilities.data_ptr<float>() + row * classes;
        result.probabilities.assign(p, p + classes);
        on_result(result);
        ++summary.predicted;
      }
    }
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace tlr
