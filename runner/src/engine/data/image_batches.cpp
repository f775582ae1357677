#include "engine/data/image_batches.h"

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "engine/util/pinned_random.h"
#include "tlr/error.h"

namespace tlr {
namespace {

std::string shape_of(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows) + " " + cv::typeToString(m.type());
}

// Augments one cached image (CV_8UC1 or CV_8UC3) with the rng of its stream position; gray images
// go through the augmenter as RGB, as the Augmenter contract promises RGB.
cv::Mat augment_one(const Augmenter& augmenter, const cv::Mat& image, std::uint64_t seed) {
  cv::Mat rgb = image;
  if (image.channels() == 1) cv::cvtColor(image, rgb, cv::COLOR_GRAY2RGB);
  std::mt19937_64 rng(seed);
  cv::Mat out = augmenter.apply(rgb, rng);
  if (out.size() != rgb.size() || out.type() != rgb.type()) {
    throw Error("augmenter: error: returned a " + shape_of(out) + " image for a " + shape_of(rgb) +
                " input; an augmenter must keep the size and type");
  }
  if (image.channels() == 1) cv::cvtColor(out, out, cv::COLOR_RGB2GRAY);
  return out;
}

}  // namespace

struct ImageBatches::Plan {
  std::int64_t epoch = 0;
  std::vector<std::uint32_t> slots;  // the sample at each position of the epoch's stream
  std::size_t batches = 0;
};

ImageBatches::ImageBatches(const Dataset& dataset, const std::vector<std::size_t>& indices,
                           const std::vector<int>& label_map, const InputSpec& input,
                           const Augmenter* augmenter, const BatchOptions& options,
                           std::shared_ptr<const SplitImages> images)
    : images_(std::move(images)), input_(input), augmenter_(augmenter), options_(options) {
  if (options_.batch_size == 0) throw Error("training.batch_size: error: must be at least 1");
  if (!images_) {
    SplitImagesOptions decode;
    decode.cache_dir = options_.cache_dir;
    decode.workers = std::max(1, options_.workers);
    decode.on_bad_image = options_.on_bad_image;
    decode.fit = input_.train_fit;  // without a decoded split, the images are training images
    images_ =
        SplitImages::load(dataset, indices, input_.channels, input_.height, input_.width, decode);
  } else if (images_->channels() != input_.channels || images_->height() != input_.height ||
             images_->width() != input_.width) {
    throw Error("batches: error: the decoded split does not match the input size");
  }
  labels_.reserve(images_->size());
  for (std::size_t k = 0; k < images_->size(); ++k) {
    const std::size_t index = images_->dataset_index(k);
    const int label = dataset.label(index);
    int mapped = label;
    if (!label_map.empty()) {
      mapped =
          label >= 0 && static_cast<std::size_t>(label) < label_map.size() ? label_map[label] : -1;
    }
    if (mapped < 0) {
      throw Error(dataset.id(index) + ": error: label " + std::to_string(label) +
                  " is not one of the split's classes");
    }
    labels_.push_back(mapped);
  }
  const std::vector<double> mean = input_.channel_mean();
  const std::vector<double> std = input_.channel_std();
  lut_.resize(static_cast<std::size_t>(input_.channels) * 256);
  for (int c = 0; c < input_.channels; ++c) {
    for (int v = 0; v < 256; ++v) {
      lut_[c * 256 + v] = static_cast<float>((v * input_.scale - mean[c]) / std[c]);
    }
  }
  for (int t = 0; t < options_.workers; ++t) workers_.emplace_back([this] { worker_loop(); });
}

ImageBatches::~ImageBatches() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : workers_) t.join();
}

std::size_t ImageBatches::steps() const {
  if (options_.steps_per_epoch > 0) return samples() == 0 ? 0 : options_.steps_per_epoch;
  return (samples() + options_.batch_size - 1) / options_.batch_size;
}

std::size_t ImageBatches::window() const {
  return std::max<std::size_t>({options_.prefetch, static_cast<std::size_t>(options_.workers), 1});
}

void ImageBatches::start_epoch(int epoch) {
  auto plan = std::make_shared<Plan>();
  plan->epoch = epoch;
  plan->batches = steps();
  const std::size_t n = samples();
  auto order_of = [&](std::int64_t pass) {
    if (options_.shuffle) return shuffled_order(n, options_.seed, pass);
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    return order;
  };
  if (n > 0 && options_.steps_per_epoch == 0) {
    plan->slots = order_of(epoch);
  } else if (n > 0) {
    // Positions [epoch · S · B, (epoch + 1) · S · B) of the endless stream of passes.
    const std::uint64_t total = options_.steps_per_epoch * options_.batch_size;
    const std::uint64_t start = static_cast<std::uint64_t>(std::max(epoch, 0)) * total;
    std::int64_t pass = -1;
    std::vector<std::uint32_t> order;
    plan->slots.reserve(total);
    for (std::uint64_t g = start; g < start + total; ++g) {
      const auto p = static_cast<std::int64_t>(g / n);
      if (p != pass) {
        pass = p;
        order = order_of(pass);
      }
      plan->slots.push_back(order[g % n]);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    plan_ = std::move(plan);
    next_claim_ = 0;
    next_consume_ = 0;
    ready_.clear();
    errors_.clear();
  }
  changed_.notify_all();
}

bool ImageBatches::next(torch::Tensor& inputs, torch::Tensor& labels) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!plan_) throw Error("batches: error: next() called before start_epoch()");
  if (next_consume_ >= plan_->batches) return false;
  const std::size_t b = next_consume_;
  if (workers_.empty()) {
    std::shared_ptr<const Plan> plan = plan_;
    ++next_consume_;
    lock.unlock();
    Ready r = build(*plan, b);
    inputs = std::move(r.inputs);
    labels = std::move(r.labels);
    return true;
  }
  changed_.notify_all();
  changed_.wait(lock, [&] { return ready_.count(b) > 0 || errors_.count(b) > 0; });
  ++next_consume_;
  auto error = errors_.find(b);
  if (error != errors_.end()) {
    std::exception_ptr e = error->second;
    errors_.erase(error);
    changed_.notify_all();
    std::rethrow_exception(e);
  }
  auto it = ready_.find(b);
  inputs = std::move(it->second.inputs);
  labels = std::move(it->second.labels);
  ready_.erase(it);
  changed_.notify_all();
  return true;
}

void ImageBatches::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] {
      return stop_ || (plan_ && next_claim_ < std::min(plan_->batches, next_consume_ + window()));
    });
    if (stop_) return;
    std::shared_ptr<const Plan> plan = plan_;
    const std::size_t b = next_claim_++;
    const std::uint64_t generation = generation_;
    lock.unlock();
    Ready r;
    std::exception_ptr error;
    try {
      r = build(*plan, b);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (generation == generation_) {
      if (error) {
        errors_[b] = error;
      } else {
        ready_[b] = std::move(r);
      }
      changed_.notify_all();
    }
  }
}

void ImageBatches::fill(std::size_t slot, const cv::Mat* augmented, float* dst) const {
  const cv::Mat src = augmented != nullptr ? *augmented : images_->image(slot);
  const int channels = input_.channels;
  const std::size_t plane = static_cast<std::size_t>(input_.height) * input_.width;
  for (int y = 0; y < src.rows; ++y) {
    const std::uint8_t* row = src.ptr<std::uint8_t>(y);
    float* out = dst + static_cast<std::size_t>(y) * input_.width;
    if (channels == 1) {
      const float* lut = lut_.data();
      for (int x = 0; x < src.cols; ++x) out[x] = lut[row[x]];
    } else {
      const float* l0 = lut_.data();
      const float* l1 = l0 + 256;
      const float* l2 = l1 + 256;
      float* o1 = out + plane;
      float* o2 = o1 + plane;
      const std::ptrdiff_t cols = src.cols;
      for (std::ptrdiff_t x = 0; x < cols; ++x) {
        out[x] = l0[row[3 * x]];
        o1[x] = l1[row[3 * x + 1]];
        o2[x] = l2[row[3 * x + 2]];
      }
    }
  }
}

ImageBatches::Ready ImageBatches::build(const Plan& plan, std::size_t batch) const {
  const std::size_t begin = batch * options_.batch_size;
  const std::size_t end = std::min(begin + options_.batch_size, plan.slots.size());
  const auto n = static_cast<std::int64_t>(end - begin);
  Ready r;
  r.inputs = torch::empty({n, input_.channels, input_.height, input_.width}, torch::kFloat32);
  r.labels = torch::empty({n}, torch::kInt64);
  float* inputs = r.inputs.data_ptr<float>();
  std::int64_t* labels = r.labels.data_ptr<std::int64_t>();
  const std::size_t per_image =
      static_cast<std::size_t>(input_.channels) * input_.height * input_.width;
  for (std::size_t k = begin; k < end; ++k) {
    const std::uint32_t slot = plan.slots[k];
    float* dst = inputs + (k - begin) * per_image;
    if (augmenter_ != nullptr) {
      const cv::Mat out =
          augment_one(*augmenter_, images_->image(slot), sample_seed(options_.seed, plan.epoch, k));
      fill(slot, &out, dst);
    } else {
      fill(slot, nullptr, dst);
    }
    labels[k - begin] = labels_[slot];
  }
  return r;
}

void write_augment_preview(const Dataset& dataset, const std::vector<std::size_t>& indices,
                           const InputSpec& input, const Augmenter* augmenter, std::uint64_t seed,
                           int rows, int cols, const std::string& png_path) {
  if (rows < 1 || cols < 1) throw Error(png_path + ": error: the grid needs at least 1×1 cells");
  const std::vector<std::size_t> shown(
      indices.begin(), indices.begin() + std::min<std::size_t>(rows, indices.size()));
  SplitImagesOptions decode;
  decode.on_bad_image = OnBadImage::fail;
  decode.fit = input.train_fit;
  const auto images =
      SplitImages::load(dataset, shown, input.channels, input.height, input.width, decode);
  constexpr int kGap = 2;
  const int h = input.height;
  const int w = input.width;
  const int n = static_cast<int>(images->size());
  cv::Mat grid(std::max(n, 1) * (h + kGap) - kGap, cols * (w + kGap) - kGap, CV_8UC(input.channels),
               cv::Scalar::all(255));
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < cols; ++c) {
      cv::Mat cell = images->image(r);
      if (c > 0 && augmenter != nullptr)
        cell = augment_one(*augmenter, cell, sample_seed(seed, c - 1, r));
      cell.copyTo(grid(cv::Rect(c * (w + kGap), r * (h + kGap), w, h)));
    }
  }
  if (input.channels == 3) cv::cvtColor(grid, grid, cv::COLOR_RGB2BGR);
  bool written = false;
  try {
    written = cv::imwrite(png_path, grid);
  } catch (const cv::Exception&) {
    written = false;
  }
  if (!written) throw Error(png_path + ": error: cannot write the preview image");
}

}  // namespace tlr
