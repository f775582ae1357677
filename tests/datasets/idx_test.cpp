#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "datasets/plugin_harness.h"
#include "datasets/test_files.h"
#include "engine/data/split.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr::testing {
namespace {

const std::vector<std::string> kFashion = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                           "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                           "Bag",         "Ankle boot"};

int train_pixel(int k, int y, int x) { return 10 * k + 3 * y + x; }
int test_pixel(int k, int y, int x) { return 200 + k + y + x; }

class IdxTest : public ::testing::Test {
 protected:
  // Three 4x5 train images labelled 9, 0, 3 and two test images labelled 1, 6.
  void write_files(bool gzip) {
    const auto write = gzip ? write_gzip : write_bytes;
    const std::string gz = gzip ? ".gz" : "";
    write(dir_ / ("train-images-idx3-ubyte" + gz), idx_images(3, 4, 5, train_pixel));
    write(dir_ / ("train-labels-idx1-ubyte" + gz), idx_labels({9, 0, 3}));
    write(dir_ / ("t10k-images-idx3-ubyte" + gz), idx_images(2, 4, 5, test_pixel));
    write(dir_ / ("t10k-labels-idx1-ubyte" + gz), idx_labels({1, 6}));
  }
  std::unique_ptr<Dataset> open(const std::string& extra = "") const {
    return plugin_.dataset("idx", R"({"root": ")" + dir_.str() + "\"" + extra + "}");
  }
  std::string root() const { return dir_.str(); }

  void expect_contents(const Dataset& data) const {
    EXPECT_EQ(data.classes(), kFashion);
    ASSERT_EQ(data.size(), 5u);
    std::vector<int> labels;
    std::vector<std::string> subsets, ids;
    for (std::size_t i = 0; i < data.size(); ++i) {
      labels.push_back(data.label(i));
      subsets.push_back(data.subset(i));
      ids.push_back(data.id(i));
    }
    EXPECT_EQ(labels, (std::vector<int>{9, 0, 3, 1, 6}));
    EXPECT_EQ(subsets, (std::vector<std::string>{"train", "train", "train", "test", "test"}));
    EXPECT_EQ(ids,
              (std::vector<std::string>{"train-images-idx3-ubyte#0", "train-images-idx3-ubyte#1",
                                        "train-images-idx3-ubyte#2", "t10k-images-idx3-ubyte#0",
                                        "t10k-images-idx3-ubyte#1"}));
    const cv::Mat image = data.image(2);
    EXPECT_EQ(image.type(), CV_8UC3);
    EXPECT_EQ(image.rows, 4);
    EXPECT_EQ(image.cols, 5);
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 5; ++x) {
        const auto v = static_cast<unsigned char>(train_pixel(2, y, x));
        EXPECT_EQ(image.at<cv::Vec3b>(y, x), cv::Vec3b(v, v, v)) << y << "," << x;
      }
    }
    const auto v = static_cast<unsigned char>(test_pixel(1, 3, 4));
    EXPECT_EQ(data.image(4).at<cv::Vec3b>(3, 4), cv::Vec3b(v, v, v));
  }

  PluginHarness plugin_{"tlr_dataset_idx"};
  TempDir dir_;
};

TEST_F(IdxTest, ReadsRawFiles) {
  write_files(false);
  expect_contents(*open());
}

TEST_F(IdxTest, ReadsGzipFiles) {
  write_files(true);
  expect_contents(*open());
}

TEST_F(IdxTest, GzipIsDetectedByContentNotName) {
  write_files(false);
  write_gzip(dir_ / "gz-in-disguise", idx_images(3, 4, 5, train_pixel));
  auto data = open(R"(, "train_images": "gz-in-disguise")");
  EXPECT_EQ(data->id(0), "gz-in-disguise#0");
  const auto v = static_cast<unsigned char>(train_pixel(1, 2, 3));
  EXPECT_EQ(data->image(1).at<cv::Vec3b>(2, 3), cv::Vec3b(v, v, v));
}

TEST_F(IdxTest, ClassNamesCanBeReplaced) {
  write_files(false);
  auto data = open(R"(, "classes": ["0","1","2","3","4","5","6","7","8","9"])");
  EXPECT_EQ(data->classes().front(), "0");
  EXPECT_EQ(data->classes().size(), 10u);
}

TEST_F(IdxTest, TestFilesCanBeLeftOut) {
  write_files(false);
  auto data = open(R"(, "test_images": "", "test_labels": "")");
  EXPECT_EQ(data->size(), 3u);
}

TEST_F(IdxTest, FingerprintFollowsFilesAndParams) {
  write_files(false);
  const std::string first = open()->fingerprint();
  EXPECT_EQ(open()->fingerprint(), first);
  EXPECT_NE(open(R"(, "classes": ["0","1","2","3","4","5","6","7","8","9"])")->fingerprint(),
            first);
  write_bytes(dir_ / "t10k-labels-idx1-ubyte", idx_labels({2, 6}));
  fs::last_write_time(dir_ / "t10k-labels-idx1-ubyte",
                      fs::last_write_time(dir_ / "t10k-labels-idx1-ubyte") + std::chrono::hours(1));
  EXPECT_NE(open()->fingerprint(), first);
}

TEST_F(IdxTest, MissingFileIsAnError) {
  write_files(false);
  fs::remove(dir_ / "t10k-labels-idx1-ubyte");
  EXPECT_THROW_MSG(
      open(), DataError,
      root() + "/t10k-labels-idx1-ubyte: error: no such file (nor t10k-labels-idx1-ubyte.gz)");
}

TEST_F(IdxTest, MissingRootIsAnError) {
  EXPECT_THROW_MSG(plugin_.dataset("idx", R"({"root": ")" + root() + "/none\"}"), DataError,
                   root() + "/none: error: no such directory");
}

TEST_F(IdxTest, BadMagicIsAnError) {
  write_files(false);
  write_bytes(dir_ / "train-images-idx3-ubyte", idx_labels({1, 2, 3}));
  EXPECT_THROW_MSG(open(), DataError,
                   root() +
                       "/train-images-idx3-ubyte: error: not an idx image file: magic 0x00000801, "
                       "expected 0x00000803");
  write_files(false);
  write_gzip(dir_ / "t10k-labels-idx1-ubyte", idx_images(2, 4, 5, test_pixel));
  EXPECT_THROW_MSG(open(), DataError,
                   root() +
                       "/t10k-labels-idx1-ubyte: error: not an idx label file: magic 0x00000803, "
                       "expected 0x00000801");
}

TEST_F(IdxTest, CountMismatchIsAnError) {
  write_files(false);
  write_bytes(dir_ / "train-labels-idx1-ubyte", idx_labels({9, 0}));
  EXPECT_THROW_MSG(open(), DataError,
                   root() +
                       "/train-labels-idx1-ubyte: error: 2 labels, but train-images-idx3-ubyte "
                       "holds 3 images");
}

TEST_F(IdxTest, TruncatedImagesAreAnError) {
  write_files(false);
  std::vector<unsigned char> images = idx_images(3, 4, 5, train_pixel);
  images.resize(images.size() - 7);
  write_bytes(dir_ / "train-images-idx3-ubyte", images);
  EXPECT_THROW_MSG(open(), DataError,
                   root() +
                       "/train-images-idx3-ubyte: error: 69 bytes, the header's 3 images of 4x5 "
                       "need 76");
}

TEST_F(IdxTest, LabelBeyondTheClassesIsAnError) {
  write_files(false);
  EXPECT_THROW_MSG(open(R"(, "classes": ["a", "b"])"), DataError,
                   root() +
                       "/train-labels-idx1-ubyte: error: label 9 of sample 0 is out of range for 2 "
                       "classes");
}

// Debian's dataset-fashion-mnist package, when installed: the default parameters read it.
TEST(IdxFashionMnist, ReadsDebianFashionMnist) {
  const fs::path root = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(root / "train-images-idx3-ubyte.gz") &&
      !fs::exists(root / "train-images-idx3-ubyte")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  PluginHarness plugin("tlr_dataset_idx");
  auto data = plugin.dataset("idx", "{}");
  EXPECT_EQ(data->classes(), kFashion);
  ASSERT_EQ(data->size(), 70000u);
  EXPECT_EQ(data->subset(59999), "train");
  EXPECT_EQ(data->subset(60000), "test");
  EXPECT_EQ(data->label(0), 9);  // the first training image is an ankle boot
  EXPECT_EQ(data->label(3), 3);
  EXPECT_EQ(data->label(60004), 6);
  EXPECT_EQ(data->id(60000), "t10k-images-idx3-ubyte#0");
  const cv::Mat image = data->image(0);
  EXPECT_EQ(image.rows, 28);
  EXPECT_EQ(image.cols, 28);
  EXPECT_EQ(image.type(), CV_8UC3);
  cv::Scalar sum = cv::sum(image);
  EXPECT_EQ(sum[0], 76247);
  EXPECT_EQ(sum[2], 76247);

  // The embedded default's target task: T-shirt/top vs Shirt, 1500/500/500 per class, seed 42.
  const SplitPlan plan = make_split(*data, Params::from_json(R"({
      "classes": ["T-shirt/top", "Shirt"], "use_subsets": false, "seed": 42,
      "per_class": {"train": 1500, "val": 500, "test": 500}})"));
  EXPECT_EQ(plan.train.size(), 3000u);
  EXPECT_EQ(plan.val.size(), 1000u);
  EXPECT_EQ(plan.test.size(), 1000u);
  EXPECT_EQ(data->label(plan.train.front()), 0);
  EXPECT_EQ(data->label(plan.train.back()), 6);
}

}  // namespace
}  // namespace tlr::testing
