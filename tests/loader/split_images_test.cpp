// The decoded-and-resized split cache: resizing, bad images, the content-addressed file.
#include "engine/data/split_images.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "loader/file_dataset.h"

namespace tlr {
namespace {

using testing::all_indices;
using testing::FileDataset;
using testing::solid;
using testing::TempDir;

void fill_dataset(FileDataset& data, int n) {
  for (int i = 0; i < n; ++i) {
    data.add("img" + std::to_string(i) + ".png", solid(12, 16, 10 * i, 100, 200), i % 2);
  }
}

TEST(SplitImages, ResizesAndKeepsIndexOrder) {
  TempDir dir;
  FileDataset data(dir.path());
  fill_dataset(data, 5);
  const auto images = SplitImages::load(data, {4, 1, 3}, 3, 6, 8, {});
  ASSERT_EQ(images->size(), 3u);
  EXPECT_EQ(images->dataset_index(0), 4u);
  EXPECT_EQ(images->dataset_index(2), 3u);
  const cv::Mat first = images->image(0);
  EXPECT_EQ(first.size(), cv::Size(8, 6));
  EXPECT_EQ(first.type(), CV_8UC3);
  EXPECT_EQ(first.at<cv::Vec3b>(5, 7), cv::Vec3b(40, 100, 200));  // RGB
}

// The dataset is asked for images at least the input size (width x height), so it may decode
// JPEGs reduced; nothing smaller is ever needed since everything downstream works at that size.
TEST(SplitImages, AsksTheDatasetForTheInputSize) {
  TempDir dir;
  FileDataset data(dir.path());
  fill_dataset(data, 3);
  SplitImagesOptions options;
  options.workers = 2;
  SplitImages::load(data, all_indices(data), 3, 6, 8, options);
  EXPECT_EQ(data.hints(), std::vector<cv::Size>(3, cv::Size(8, 6)));
}

// A dataset that only implements image(), as every dataset did before image_at_least: the SDK's
// default hands the loader the full image, which it shrinks as before.
class FullImageOnly final : public Dataset {
 public:
  std::vector<std::string> classes() const override { return {"a"}; }
  std::size_t size() const override { return 1; }
  int label(std::size_t) const override { return 0; }
  cv::Mat image(std::size_t) const override { return solid(12, 16, 10, 20, 30); }
  std::string id(std::size_t) const override { return "only"; }
  std::string fingerprint() const override { return "only"; }
};

TEST(SplitImages, DatasetIgnoringTheHintGetsTheFullImageByDefault) {
  const FullImageOnly data;
  EXPECT_EQ(data.image_at_least(0, cv::Size(8, 6)).size(), cv::Size(16, 12));
  const auto images = SplitImages::load(data, {0}, 3, 6, 8, {});
  ASSERT_EQ(images->size(), 1u);
  EXPECT_EQ(images->image(0).at<cv::Vec3b>(5, 7), cv::Vec3b(10, 20, 30));
}

TEST(SplitImages, AreaShrinkMatchesOpenCvInterArea) {
  cv::Mat src(375, 500, CV_8UC3);
  cv::RNG rng(3);
  rng.fill(src, cv::RNG::UNIFORM, 0, 256);
  cv::GaussianBlur(src, src, cv::Size(5, 5), 1.5);
  for (const cv::Size size : {cv::Size(150, 150), cv::Size(250, 125), cv::Size(499, 374)}) {
    cv::Mat ours, reference;
    resize_to_input(src, ours, size.height, size.width);
    cv::resize(src, reference, size, 0, 0, cv::INTER_AREA);
    EXPECT_LE(cv::norm(ours, reference, cv::NORM_INF), 1) << size;
  }
  // Integer factors: each output pixel is the mean of a 2 × 2 block.
  const cv::Mat block = (cv::Mat_<std::uint8_t>(2, 4) << 0, 4, 8, 8, 4, 8, 8, 8);
  cv::Mat half;
  resize_to_input(block, half, 1, 2);
  EXPECT_EQ(half.at<std::uint8_t>(0, 0), 4);
  EXPECT_EQ(half.at<std::uint8_t>(0, 1), 8);
}

TEST(SplitImages, GrayscaleUsesOneChannel) {
  TempDir dir;
  FileDataset data(dir.path());
  data.add("a.png", solid(4, 4, 255, 0, 0), 0);
  const auto images = SplitImages::load(data, {0}, 1, 4, 4, {});
  EXPECT_EQ(images->image(0).type(), CV_8UC1);
  EXPECT_EQ(images->image(0).at<std::uint8_t>(0, 0), 76);  // 0.299 * 255
}

TEST(SplitImages, SkipsACorruptFileAndListsIt) {
  TempDir dir;
  FileDataset data(dir.path());
  fill_dataset(data, 3);
  data.add_garbage("bad.jpg", 1);
  data.add("last.png", solid(4, 4, 1, 2, 3), 0);
  SplitImagesOptions options;
  options.workers = 2;
  const auto images = SplitImages::load(data, all_indices(data), 3, 4, 4, options);
  EXPECT_EQ(images->size(), 4u);
  ASSERT_EQ(images->bad_images().size(), 1u);
  const BadImage& bad = images->bad_images()[0];
  EXPECT_EQ(bad.index, 3u);
  EXPECT_EQ(bad.id, "bad.jpg");
  EXPECT_EQ(bad.path, data.path(3));
  EXPECT_EQ(bad.message, data.path(3) + ": error: cannot decode image");
  EXPECT_EQ(images->dataset_index(3), 4u);
  EXPECT_EQ(images->image(3).at<cv::Vec3b>(0, 0), cv::Vec3b(1, 2, 3));
}

TEST(SplitImages, FailModeThrowsDataErrorWithThePath) {
  TempDir dir;
  FileDataset data(dir.path());
  fill_dataset(data, 2);
  data.add_garbage("bad.jpg", 1);
  SplitImagesOptions options;
  options.on_bad_image = OnBadImage::fail;
  try {
    SplitImages::load(data, all_indices(data), 3, 4, 4, options);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), data.path(2));
    EXPECT_EQ(std::string(e.what()), data.path(2) + ": error: cannot decode image");
  }
}

TEST(SplitImages, OnBadImageNames) {
  EXPECT_EQ(on_bad_image_from("skip"), OnBadImage::skip);
  EXPECT_EQ(on_bad_image_from("fail"), OnBadImage::fail);
  EXPECT_THROW(on_bad_image_from("ignore"), Error);
}

TEST(SplitImages, KeyDependsOnFingerprintIndicesAndSize) {
  const std::string k = SplitImages::cache_key("f", {1, 2}, 3, 4, 4);
  EXPECT_EQ(k.size(), 64u);
  EXPECT_EQ(k, SplitImages::cache_key("f", {1, 2}, 3, 4, 4));
  EXPECT_NE(k, SplitImages::cache_key("g", {1, 2}, 3, 4, 4));
  EXPECT_NE(k, SplitImages::cache_key("f", {2, 1}, 3, 4, 4));
  EXPECT_NE(k, SplitImages::cache_key("f", {1, 2}, 1, 4, 4));
  EXPECT_NE(k, SplitImages::cache_key("f", {1, 2}, 3, 4, 5));
}

TEST(SplitImages, KeyDependsOnTheCentreCropButNotOnAStretch) {
  const std::string stretch = SplitImages::cache_key("f", {1, 2}, 3, 4, 4);
  ImageFit crop;
  crop.mode = ImageFit::Mode::center_crop;
  const std::string k = SplitImages::cache_key("f", {1, 2}, 3, 4, 4, crop);
  EXPECT_NE(k, stretch);
  crop.crop_fraction = 0.9;
  EXPECT_NE(k, SplitImages::cache_key("f", {1, 2}, 3, 4, 4, crop));
  ImageFit stretch_fit;
  stretch_fit.crop_fraction = 0.5;  // ignored by a stretch: the v2 keys stay valid
  EXPECT_EQ(stretch, SplitImages::cache_key("f", {1, 2}, 3, 4, 4, stretch_fit));
}

// torchvision's Resize(256) + CenterCrop(224) of a 400 x 300 image: the shorter side becomes 256
// (scale 256/300), the 224 x 224 centre of the 341 x 256 result covers 262.5 source pixels from
// (67.97, 18.75); here 263 from (69, 19): the same region within a source pixel.
TEST(SplitImages, CentreCropRegionIsTorchvisionsResizeAndCenterCrop) {
  ImageFit crop;
  crop.mode = ImageFit::Mode::center_crop;
  EXPECT_EQ(fit_region(400, 300, 224, 224, crop), cv::Rect(69, 19, 263, 263));
  EXPECT_EQ(fit_region(300, 400, 224, 224, crop), cv::Rect(19, 69, 263, 263));
  crop.crop_fraction = 1.0;  // the largest centred square
  EXPECT_EQ(fit_region(400, 300, 224, 224, crop), cv::Rect(50, 0, 300, 300));
  // A non-square output keeps its aspect ratio: 100 x 50 out of 400 x 400 at fraction 1.
  EXPECT_EQ(fit_region(400, 400, 50, 100, crop), cv::Rect(0, 100, 400, 200));
  EXPECT_EQ(fit_region(400, 300, 224, 224, ImageFit{}), cv::Rect(0, 0, 400, 300));
}

// An image with a 15-pixel red frame around a blue centre: a stretch keeps the frame at the
// edges, a centre crop at 0.875 cuts all of it away. The dataset is asked for the covering size.
TEST(SplitImages, CentreCropCutsTheBorderAndAsksForTheCoveringSize) {
  TempDir dir;
  FileDataset data(dir.path());
  cv::Mat framed = solid(300, 400, 255, 0, 0);
  framed(cv::Rect(15, 15, 370, 270)).setTo(cv::Scalar(0, 0, 255));  // blue inside
  data.add("framed.png", framed, 0);
  const auto stretched = SplitImages::load(data, {0}, 3, 56, 56, {});
  EXPECT_EQ(stretched->image(0).at<cv::Vec3b>(0, 0), cv::Vec3b(255, 0, 0));  // RGB red
  SplitImagesOptions options;
  options.fit.mode = ImageFit::Mode::center_crop;
  const auto cropped = SplitImages::load(data, {0}, 3, 56, 56, options);
  const cv::Mat image = cropped->image(0);
  for (const cv::Point p : {cv::Point(0, 0), cv::Point(55, 0), cv::Point(0, 55), cv::Point(55, 55),
                            cv::Point(28, 28)}) {
    EXPECT_EQ(image.at<cv::Vec3b>(p), cv::Vec3b(0, 0, 255)) << p;
  }
  EXPECT_NE(stretched->key(), cropped->key());
  EXPECT_EQ(data.hints().back(), cv::Size(64, 64));  // 56 / 0.875
}

class SplitImagesCache : public ::testing::Test {
 protected:
  SplitImagesCache() : data_(dir_ / "images") {
    std::filesystem::create_directories(dir_ / "images");
    fill_dataset(data_, 6);
    data_.add_garbage("bad.jpg", 0);
    options_.cache_dir = dir_ / "cache";
    options_.workers = 2;
  }
  std::shared_ptr<const SplitImages> load() {
    return SplitImages::load(data_, all_indices(data_), 3, 5, 7, options_);
  }

  TempDir dir_;
  FileDataset data_;
  SplitImagesOptions options_;
};

TEST_F(SplitImagesCache, SecondLoadReadsTheFile) {
  const auto built = load();
  EXPECT_FALSE(built->from_disk());
  EXPECT_EQ(built->cache_problem(), "");
  EXPECT_EQ(built->cache_path(), (dir_ / "cache" / "images" / (built->key() + ".bin")).string());
  EXPECT_TRUE(std::filesystem::exists(built->cache_path()));
  const int decodes = data_.decodes();

  const auto read = load();
  EXPECT_TRUE(read->from_disk());
  EXPECT_EQ(data_.decodes(), decodes);  // nothing decoded again
  ASSERT_EQ(read->size(), built->size());
  for (std::size_t k = 0; k < read->size(); ++k) {
    EXPECT_EQ(read->dataset_index(k), built->dataset_index(k));
    EXPECT_EQ(cv::norm(read->image(k), built->image(k), cv::NORM_INF), 0);
  }
  ASSERT_EQ(read->bad_images().size(), 1u);
  EXPECT_EQ(read->bad_images()[0].message, built->bad_images()[0].message);
  // No temporary file is left behind.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ / "cache/images")) {
    ++files;
    EXPECT_EQ(entry.path().extension(), ".bin");
  }
  EXPECT_EQ(files, 1);
}

TEST_F(SplitImagesCache, FailModeRefusesACachedBadImage) {
  load();
  options_.on_bad_image = OnBadImage::fail;
  EXPECT_THROW(load(), DataError);
}

TEST_F(SplitImagesCache, TruncatedFileIsRebuilt) {
  const auto built = load();
  const auto size = std::filesystem::file_size(built->cache_path());
  std::filesystem::resize_file(built->cache_path(), size - 10);
  const int decodes = data_.decodes();

  const auto rebuilt = load();
  EXPECT_FALSE(rebuilt->from_disk());
  EXPECT_GT(data_.decodes(), decodes);
  EXPECT_NE(rebuilt->cache_problem(), "");
  EXPECT_EQ(std::filesystem::file_size(rebuilt->cache_path()), size);
  EXPECT_TRUE(load()->from_disk());
}

TEST_F(SplitImagesCache, CorruptPixelIsRebuilt) {
  const auto built = load();
  {
    std::fstream f(built->cache_path(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-40, std::ios::end);  // inside the pixels, before the two checksums
    f.put('\x7f');
  }
  const auto rebuilt = load();
  EXPECT_FALSE(rebuilt->from_disk());
  for (std::size_t k = 0; k < rebuilt->size(); ++k) {
    EXPECT_EQ(cv::norm(rebuilt->image(k), built->image(k), cv::NORM_INF), 0);
  }
  EXPECT_TRUE(load()->from_disk());
}

TEST_F(SplitImagesCache, GarbageFileIsRebuilt) {
  const auto built = load();
  {
    std::ofstream f(built->cache_path(), std::ios::binary | std::ios::trunc);
    f << "garbage";
  }
  EXPECT_FALSE(load()->from_disk());
  EXPECT_TRUE(load()->from_disk());
}

}  // namespace
}  // namespace tlr
