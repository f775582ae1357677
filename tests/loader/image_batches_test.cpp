// ImageBatches: tensors, normalisation, labels, epoch order, augmentation replay across thread
// counts, steps_per_epoch, bad images and the preview grid.
#include "engine/data/image_batches.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <opencv2/imgcodecs.hpp>

#include "augment/plugin_augmenter.h"
#include "engine/data/input_spec.h"
#include "engine/util/pinned_random.h"
#include "loader/file_dataset.h"

namespace tlr {
namespace {

using testing::all_indices;
using testing::FileDataset;
using testing::solid;
using testing::TempDir;

InputSpec input(int channels, int h, int w) {
  InputSpec spec;
  spec.channels = channels;
  spec.height = h;
  spec.width = w;
  spec.scale = 1.0 / 255;
  return spec;
}

BatchOptions options(std::size_t batch, bool shuffle, int workers) {
  BatchOptions o;
  o.batch_size = batch;
  o.shuffle = shuffle;
  o.workers = workers;
  o.seed = 42;
  return o;
}

struct Epoch {
  std::vector<torch::Tensor> inputs;
  std::vector<torch::Tensor> labels;
};

Epoch run_epoch(ImageBatches& batches, int epoch) {
  Epoch e;
  batches.start_epoch(epoch);
  torch::Tensor x, y;
  while (batches.next(x, y)) {
    e.inputs.push_back(x);
    e.labels.push_back(y);
  }
  return e;
}

std::vector<std::int64_t> label_list(const Epoch& e) {
  std::vector<std::int64_t> out;
  for (const torch::Tensor& y : e.labels) {
    for (std::int64_t i = 0; i < y.size(0); ++i) out.push_back(y[i].item<std::int64_t>());
  }
  return out;
}

// n images; image i is a smooth pattern with a value that identifies it, label i (n classes), so
// labels reveal the order.
class Numbered : public ::testing::Test {
 protected:
  void make(int n) {
    data_ = std::make_unique<FileDataset>(dir_.path(), n);
    for (int i = 0; i < n; ++i) {
      cv::Mat m(12, 12, CV_8UC3);
      for (int r = 0; r < 12; ++r) {
        for (int c = 0; c < 12; ++c) m.at<cv::Vec3b>(r, c) = cv::Vec3b(i * 9, r * 20, c * 20);
      }
      data_->add("n" + std::to_string(i) + ".png", m, i);
    }
  }
  TempDir dir_;
  std::unique_ptr<FileDataset> data_;
};

TEST(InputSpec, ReadsTheDataInputBlock) {
  const InputSpec spec = InputSpec::from_params(Params::from_json(
      R"({"size": [150, 120], "channels": 3, "scale": 0.00392156862745098,
          "mean": "imagenet", "std": "imagenet"})"));
  EXPECT_EQ(spec.height, 150);
  EXPECT_EQ(spec.width, 120);
  EXPECT_EQ(spec.channel_mean(), (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(spec.channel_std(), (std::vector<double>{0.229, 0.224, 0.225}));
  const InputSpec square = InputSpec::from_params(Params::from_json(R"({"size": 32})"));
  EXPECT_EQ(square.height, 32);
  EXPECT_EQ(square.channel_mean(), (std::vector<double>{0, 0, 0}));
  try {
    InputSpec::from_params(Params::from_json(R"({"size": 8, "channels": 1, "mean": "imagenet"})"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "data.input: error: mean has 3 values but channels is 1");
  }
}

TEST(InputSpec, FitForEverySplitOrTrainAndEval) {
  const InputSpec plain = InputSpec::from_params(Params::from_json(R"({"size": 32})"));
  EXPECT_EQ(plain.train_fit.mode, ImageFit::Mode::stretch);
  EXPECT_EQ(plain.eval_fit.mode, ImageFit::Mode::stretch);
  const InputSpec all =
      InputSpec::from_params(Params::from_json(R"({"size": 32, "fit": "center_crop"})"));
  EXPECT_EQ(all.train_fit.mode, ImageFit::Mode::center_crop);
  EXPECT_EQ(all.eval_fit.mode, ImageFit::Mode::center_crop);
  EXPECT_EQ(all.eval_fit.crop_fraction, 0.875);
  const InputSpec seed002 = InputSpec::from_params(
      Params::from_json(R"({"size": 224, "fit": {"eval": "center_crop"}, "crop_fraction": 0.8})"));
  EXPECT_EQ(seed002.train_fit.mode, ImageFit::Mode::stretch);
  EXPECT_EQ(seed002.eval_fit.mode, ImageFit::Mode::center_crop);
  EXPECT_EQ(seed002.eval_fit.crop_fraction, 0.8);
  for (const auto& [json, message] : std::vector<std::pair<std::string, std::string>>{
           {R"({"size": 8, "fit": "crop"})",
            "data.input: error: fit 'crop' is not one of stretch, center_crop"},
           {R"({"size": 8, "fit": {"test": "stretch"}})",
            "data.input: error: fit has 'test'; it takes train and eval"},
           {R"({"size": 8, "crop_fraction": 1.5})",
            "data.input: error: crop_fraction must be in (0, 1]"}}) {
    try {
      InputSpec::from_params(Params::from_json(json));
      ADD_FAILURE() << "no error for " << json;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), message);
    }
  }
}

TEST(ImageBatches, ShapesScalingAndNormalisation) {
  TempDir dir;
  FileDataset data(dir.path());
  for (int i = 0; i < 5; ++i) data.add(std::to_string(i) + ".png", solid(9, 13, 51, 102, 255), 1);
  InputSpec spec = input(3, 4, 6);
  spec.mean = {0.2, 0.4, 0.5};
  spec.std = {0.5, 0.25, 2};
  ImageBatches batches(data, all_indices(data), {}, spec, nullptr, options(2, false, 2));
  EXPECT_EQ(batches.samples(), 5u);
  EXPECT_EQ(batches.steps(), 3u);
  const Epoch e = run_epoch(batches, 0);
  ASSERT_EQ(e.inputs.size(), 3u);
  EXPECT_EQ(e.inputs[0].sizes(), (std::vector<std::int64_t>{2, 3, 4, 6}));
  EXPECT_EQ(e.inputs[2].sizes(), (std::vector<std::int64_t>{1, 3, 4, 6}));
  EXPECT_EQ(e.inputs[0].dtype(), torch::kFloat32);
  EXPECT_EQ(e.labels[0].dtype(), torch::kInt64);
  EXPECT_NEAR(e.inputs[1][1][0][3][5].item<float>(), (0.2 - 0.2) / 0.5, 1e-6);
  EXPECT_NEAR(e.inputs[1][1][1][0][0].item<float>(), (0.4 - 0.4) / 0.25, 1e-6);
  EXPECT_NEAR(e.inputs[1][1][2][2][2].item<float>(), (1.0 - 0.5) / 2, 1e-6);
}

TEST(ImageBatches, GrayscaleInput) {
  TempDir dir;
  FileDataset data(dir.path());
  data.add("a.png", solid(4, 4, 0, 255, 0), 0);
  ImageBatches batches(data, {0}, {}, input(1, 4, 4), nullptr, options(4, false, 1));
  const Epoch e = run_epoch(batches, 0);
  EXPECT_EQ(e.inputs[0].sizes(), (std::vector<std::int64_t>{1, 1, 4, 4}));
  EXPECT_NEAR(e.inputs[0][0][0][1][1].item<float>(), 150 / 255.0, 1e-6);  // 0.587 * 255
}

TEST(ImageBatches, MapsLabelsThroughTheSplitPlan) {
  TempDir dir;
  FileDataset data(dir.path(), 3);
  data.add("a.png", solid(4, 4, 0, 0, 0), 2);
  data.add("b.png", solid(4, 4, 0, 0, 0), 1);
  data.add("c.png", solid(4, 4, 0, 0, 0), 0);
  const std::vector<int> label_map = {-1, 1, 0};  // class 0 left out; 1 -> 1, 2 -> 0
  ImageBatches batches(data, {0, 1}, label_map, input(3, 4, 4), nullptr, options(8, false, 1));
  EXPECT_EQ(label_list(run_epoch(batches, 0)), (std::vector<std::int64_t>{0, 1}));
  try {
    ImageBatches bad(data, {0, 2}, label_map, input(3, 4, 4), nullptr, options(8, false, 1));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "c.png: error: label 0 is not one of the split's classes");
  }
}

TEST_F(Numbered, UnshuffledOrderIsTheSplitOrder) {
  make(7);
  ImageBatches batches(*data_, {6, 0, 3}, {}, input(3, 6, 6), nullptr, options(2, false, 2));
  EXPECT_EQ(label_list(run_epoch(batches, 0)), (std::vector<std::int64_t>{6, 0, 3}));
  EXPECT_EQ(label_list(run_epoch(batches, 1)), (std::vector<std::int64_t>{6, 0, 3}));
}

TEST_F(Numbered, ShuffleFollowsSeedAndEpoch) {
  make(23);
  ImageBatches batches(*data_, all_indices(*data_), {}, input(3, 6, 6), nullptr,
                       options(4, true, 2));
  const auto e0 = label_list(run_epoch(batches, 0));
  const auto e1 = label_list(run_epoch(batches, 1));
  EXPECT_NE(e0, e1);
  EXPECT_EQ(e0, label_list(run_epoch(batches, 0)));
  std::vector<std::int64_t> sorted = e0;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::int64_t> expected(23);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(sorted, expected);
  const std::vector<std::uint32_t> order = shuffled_order(23, 42, 0);
  EXPECT_EQ(e0, std::vector<std::int64_t>(order.begin(), order.end()));
}

TEST_F(Numbered, AugmentedEpochsReplayExactlyWithAnyThreadCount) {
  make(23);
  auto augmenter = testing::make_plugin_augmenter(
      "keras_image", R"({"rotation_range": 50, "width_shift_range": 0.2, "height_shift_range": 0.2,
                         "shear_range": 0.2, "zoom_range": 0.3, "horizontal_flip": true})");
  auto images = SplitImages::load(*data_, all_indices(*data_), 3, 10, 10, {});
  std::vector<std::vector<Epoch>> runs;
  for (int workers : {1, 3, 0}) {
    ImageBatches batches(*data_, all_indices(*data_), {}, input(3, 10, 10), augmenter.get(),
                         options(4, true, workers), images);
    runs.push_back({run_epoch(batches, 0), run_epoch(batches, 1)});
  }
  for (std::size_t r = 1; r < runs.size(); ++r) {
    for (int e = 0; e < 2; ++e) {
      ASSERT_EQ(runs[r][e].inputs.size(), runs[0][e].inputs.size());
      for (std::size_t b = 0; b < runs[0][e].inputs.size(); ++b) {
        EXPECT_TRUE(torch::equal(runs[r][e].inputs[b], runs[0][e].inputs[b])) << r << e << b;
        EXPECT_TRUE(torch::equal(runs[r][e].labels[b], runs[0][e].labels[b]));
      }
    }
  }
  // The same image is augmented differently in another epoch.
  ImageBatches plain(*data_, all_indices(*data_), {}, input(3, 10, 10), augmenter.get(),
                     options(23, false, 1), images);
  const Epoch a = run_epoch(plain, 0);
  const Epoch b = run_epoch(plain, 1);
  EXPECT_FALSE(torch::equal(a.inputs[0], b.inputs[0]));
  EXPECT_TRUE(torch::equal(a.inputs[0], run_epoch(plain, 0).inputs[0]));
}

TEST_F(Numbered, StepsPerEpochCyclesThroughPasses) {
  make(10);
  BatchOptions o = options(3, true, 2);
  o.steps_per_epoch = 5;  // 15 samples an epoch from passes of 10
  ImageBatches batches(*data_, all_indices(*data_), {}, input(3, 6, 6), nullptr, o);
  EXPECT_EQ(batches.steps(), 5u);
  std::vector<std::int64_t> stream;
  for (int epoch = 0; epoch < 2; ++epoch) {
    const Epoch e = run_epoch(batches, epoch);
    ASSERT_EQ(e.inputs.size(), 5u);
    for (const torch::Tensor& x : e.inputs) EXPECT_EQ(x.size(0), 3);
    const auto labels = label_list(e);
    stream.insert(stream.end(), labels.begin(), labels.end());
  }
  // Epochs 0 and 1 are passes 0, 1 and 2 back to back, each pass its own order.
  for (std::ptrdiff_t pass = 0; pass < 3; ++pass) {
    const std::vector<std::uint32_t> order = shuffled_order(10, 42, pass);
    EXPECT_EQ(
        std::vector<std::int64_t>(stream.begin() + 10 * pass, stream.begin() + 10 * pass + 10),
        std::vector<std::int64_t>(order.begin(), order.end()))
        << pass;
  }
}

TEST(ImageBatches, SkipsACorruptJpeg) {
  TempDir dir;
  FileDataset data(dir.path());
  data.add("a.png", solid(4, 4, 1, 1, 1), 0);
  data.add_garbage("broken.jpg", 1);
  data.add("c.png", solid(4, 4, 3, 3, 3), 1);
  ImageBatches batches(data, all_indices(data), {}, input(3, 4, 4), nullptr, options(2, false, 2));
  EXPECT_EQ(batches.samples(), 2u);
  EXPECT_EQ(batches.skipped(), 1u);
  EXPECT_EQ(batches.bad_images()[0].path, data.path(1));
  EXPECT_EQ(batches.bad_images()[0].id, "broken.jpg");
  EXPECT_EQ(label_list(run_epoch(batches, 0)), (std::vector<std::int64_t>{0, 1}));
}

TEST(ImageBatches, FailsOnACorruptJpegWhenAsked) {
  TempDir dir;
  FileDataset data(dir.path());
  data.add("a.png", solid(4, 4, 1, 1, 1), 0);
  data.add_garbage("broken.jpg", 1);
  BatchOptions o = options(2, false, 2);
  o.on_bad_image = OnBadImage::fail;
  try {
    ImageBatches batches(data, all_indices(data), {}, input(3, 4, 4), nullptr, o);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), data.path(1));
    EXPECT_EQ(std::string(e.what()), data.path(1) + ": error: cannot decode image");
  }
}

TEST(ImageBatches, UsesTheDiskCacheOnTheSecondConstruction) {
  TempDir dir;
  FileDataset data(dir.path());
  for (int i = 0; i < 4; ++i) data.add(std::to_string(i) + ".png", solid(8, 8, i, i, i), 0);
  BatchOptions o = options(2, false, 1);
  o.cache_dir = dir / "cache";
  ImageBatches first(data, all_indices(data), {}, input(3, 4, 4), nullptr, o);
  EXPECT_FALSE(first.images()->from_disk());
  const int decodes = data.decodes();
  ImageBatches second(data, all_indices(data), {}, input(3, 4, 4), nullptr, o);
  EXPECT_TRUE(second.images()->from_disk());
  EXPECT_EQ(data.decodes(), decodes);
  const Epoch a = run_epoch(first, 0);
  const Epoch b = run_epoch(second, 0);
  for (std::size_t i = 0; i < a.inputs.size(); ++i) {
    EXPECT_TRUE(torch::equal(a.inputs[i], b.inputs[i]));
  }
}

TEST(ImageBatches, NextBeforeStartEpochIsAnError) {
  TempDir dir;
  FileDataset data(dir.path());
  data.add("a.png", solid(4, 4, 1, 1, 1), 0);
  ImageBatches batches(data, {0}, {}, input(3, 4, 4), nullptr, options(2, false, 1));
  torch::Tensor x, y;
  EXPECT_THROW(batches.next(x, y), Error);
}

TEST_F(Numbered, PreviewGridHasTheOriginalFirst) {
  make(3);
  auto augmenter = testing::make_plugin_augmenter("keras_image", R"({"rotation_range": 40})");
  const std::string png = dir_ / "preview.png";
  write_augment_preview(*data_, {2, 0, 1}, input(3, 10, 10), augmenter.get(), 7, 2, 4, png);
  const cv::Mat grid = cv::imread(png, cv::IMREAD_COLOR);
  ASSERT_FALSE(grid.empty());
  EXPECT_EQ(grid.rows, 2 * 12 - 2);
  EXPECT_EQ(grid.cols, 4 * 12 - 2);
  const auto original = SplitImages::load(*data_, {2}, 3, 10, 10, {});
  cv::Mat rgb;
  cv::cvtColor(grid(cv::Rect(0, 0, 10, 10)), rgb, cv::COLOR_BGR2RGB);
  EXPECT_EQ(cv::norm(rgb, original->image(0), cv::NORM_INF), 0);
  cv::cvtColor(grid(cv::Rect(12, 0, 10, 10)), rgb, cv::COLOR_BGR2RGB);
  EXPECT_GT(cv::norm(rgb, original->image(0), cv::NORM_INF), 0);
}

TEST(ImageBatches, PreviewReportsAnUnwritableFile) {
  TempDir dir;
  FileDataset data(dir.path());
  data.add("a.png", solid(4, 4, 1, 1, 1), 0);
  const std::string png = dir / "missing/dir/p.png";
  try {
    write_augment_preview(data, {0}, input(3, 4, 4), nullptr, 1, 1, 2, png);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), png + ": error: cannot write the preview image");
  }
}

}  // namespace
}  // namespace tlr
