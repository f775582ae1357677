// Batches of images for training and evaluation: the split's decoded images (SplitImages), an
// order per epoch, per-sample augmentation, and worker threads that prepare the next batches
// while the trainer works on the current one.
#pragma once

#include <torch/types.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/data/input_spec.h"
#include "engine/data/split_images.h"
#include "tlr/augmenter.h"
#include "tlr/dataset.h"
#include "tlr/strategy.h"

namespace tlr {

struct BatchOptions {
  std::size_t batch_size = 32;
  bool shuffle = false;    // a new order every epoch (training)
  std::uint64_t seed = 0;  // order and augmentation
  // Threads that augment and assemble batches (and decode the split when it is not given).
  // 0: everything happens in the thread that calls next().
  int workers = 2;
  std::size_t prefetch = 3;  // batches prepared ahead of the trainer (at least `workers`)
  // 0: an epoch is one pass over the split (the last batch may be short). > 0: an epoch is that
  // many full batches taken from an endless stream of passes, each pass in its own order, so
  // epochs continue where the previous one stopped (Keras's steps_per_epoch; 100 × 30 images).
  std::size_t steps_per_epoch = 0;
  OnBadImage on_bad_image = OnBadImage::skip;
  std::string cache_dir;  // see SplitImagesOptions; "" keeps the decoded split in memory only
};

// Batches of one split. inputs: N × C × H × W float, (v * scale - mean[c]) / std[c] of the uint8
// pixels v (after augmentation); labels: N int64, label_map[dataset label].
//
// Reproducibility: the order of pass p is shuffled_order(samples, seed, p) (one pass per epoch
// without steps_per_epoch, p = epoch); the sample at position k of an epoch's stream is augmented
// with std::mt19937_64(sample_seed(seed, epoch, k)); both in engine/util/pinned_random.h. Neither
// depends on the thread count, so a run replays exactly with any number of workers.
class ImageBatches : public Batches {
 public:
  // `indices` index `dataset`; `label_map` maps a dataset label to the batch label (the split
  // plan's label_of_dataset; empty: identity); an index whose label maps to -1 is an error.
  // `augmenter` (may be null) must outlive this object; 1-channel inputs are augmented as RGB
  // (gray copied to three channels) and turned back to gray. `images` is the split already
  // decoded (it may be shared by several ImageBatches of the same split and input size); null:
  // decoded here with options.workers, options.cache_dir and options.on_bad_image. `dataset` is
  // only used during construction.
  ImageBatches(const Dataset& dataset, const std::vector<std::size_t>& indices,
               const std::vector<int>& label_map, const InputSpec& input,
               const Augmenter* augmenter, const BatchOptions& options,
               std::shared_ptr<const SplitImages> images = nullptr);
  ~ImageBatches() override;
  ImageBatches(const ImageBatches&) = delete;
  ImageBatches& operator=(const ImageBatches&) = delete;

  std::size_t samples() const override { return labels_.size(); }  // bad images excluded
  // Starts epoch `epoch` (any integer; the trainer's count). Discards batches of a previous epoch
  // not yet taken.
  void start_epoch(int epoch) override;
  // The next batch of the epoch; false after the last one. Rethrows an augmenter's exception.
  bool next(torch::Tensor& inputs, torch::Tensor& labels) override;

  std::size_t steps() const;  // batches per epoch
  std::size_t skipped() const { return images_->bad_images().size(); }
  const std::vector<BadImage>& bad_images() const { return images_->bad_images(); }
  const std::shared_ptr<const SplitImages>& images() const { return images_; }
  // Dataset index of sample k (0 <= k < samples()), in split order.
  std::size_t dataset_index(std::size_t k) const { return images_->dataset_index(k); }

 private:
  struct Plan;
  struct Ready {
    torch::Tensor inputs;
    torch::Tensor labels;
  };

  Ready build(const Plan& plan, std::size_t batch) const;
  void fill(std::size_t slot, const cv::Mat* augmented, float* dst) const;
  void worker_loop();
  std::size_t window() const;

  std::shared_ptr<const SplitImages> images_;
  InputSpec input_;
  const Augmenter* augmenter_;
  BatchOptions options_;
  std::vector<std::int64_t> labels_;  // per slot
  std::vector<float> lut_;            // channels × 256: normalised value of each byte

  std::mutex mutex_;
  std::condition_variable changed_;
  std::shared_ptr<const Plan> plan_;
  std::uint64_t generation_ = 0;
  std::size_t next_claim_ = 0;    // next batch a worker may start
  std::size_t next_consume_ = 0;  // next batch next() returns
  std::map<std::size_t, Ready> ready_;
  std::map<std::size_t, std::exception_ptr> errors_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

// Writes a PNG grid of `rows` images of `indices` (the first `rows`) resized to `input`'s size:
// column 0 the original, columns 1..cols-1 augmented with std::mt19937_64(sample_seed(seed,
// column - 1, row)), 2-pixel gaps. For `runner preview-augment`. Throws tlr::DataError for an
// unreadable image and tlr::Error("<png_path>: error: ...") when the file cannot be written.
void write_augment_preview(const Dataset& dataset, const std::vector<std::size_t>& indices,
                           const InputSpec& input, const Augmenter* augmenter, std::uint64_t seed,
                           int rows, int cols, const std::string& png_path);

}  // namespace tlr
