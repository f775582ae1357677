#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <string>
#include <vector>

#include "datasets/plugin_harness.h"
#include "datasets/test_files.h"
#include "tlr/error.h"

namespace tlr::testing {
namespace {

const cv::Vec3b kRed(200, 10, 20);
const cv::Vec3b kGreen(10, 200, 30);
const cv::Vec3b kBlue(20, 30, 200);

class ImageFolderTest : public ::testing::Test {
 protected:
  std::unique_ptr<Dataset> open(const std::string& extra = "") const {
    return plugin_.dataset("image_folder", R"({"root": ")" + dir_.str() + "\"" + extra + "}");
  }
  std::string root() const { return dir_.str(); }

  PluginHarness plugin_{"libtlr_dataset_image_folder.so"};
  TempDir dir_;
};

TEST_F(ImageFolderTest, FlatLayoutListsSortedClassesAndImages) {
  write_image(dir_ / "dog/b.png", kRed);
  write_image(dir_ / "dog/a.PNG", kGreen);
  write_image(dir_ / "cat/x.bmp", kBlue);
  write_image(dir_ / "cat/nested/y.png", kRed);
  write_text(dir_ / "cat/notes.txt", "not an image");
  write_image(dir_ / "cat/.hidden.png", kRed);
  write_image(dir_ / ".cache/z.png", kRed);

  auto data = open();
  EXPECT_EQ(data->classes(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(data->size(), 4u);
  std::vector<std::string> ids;
  std::vector<int> labels;
  for (std::size_t i = 0; i < data->size(); ++i) {
    ids.push_back(data->id(i));
    labels.push_back(data->label(i));
    EXPECT_EQ(data->subset(i), "");
  }
  EXPECT_EQ(ids,
            (std::vector<std::string>{"cat/nested/y.png", "cat/x.bmp", "dog/a.PNG", "dog/b.png"}));
  EXPECT_EQ(labels, (std::vector<int>{0, 0, 1, 1}));
  const cv::Mat image = data->image(1);
  EXPECT_EQ(image.type(), CV_8UC3);
  EXPECT_EQ(image.cols, 4);
  EXPECT_EQ(image.rows, 3);
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), kBlue);  // RGB order, not OpenCV's BGR
  EXPECT_EQ(data->image(2).at<cv::Vec3b>(2, 3), kGreen);
}

TEST_F(ImageFolderTest, DecodesJpegGrayscaleAndRgbaToRgb) {
  write_image(dir_ / "a/photo.JPEG", kRed, 16, 16);
  cv::imwrite((dir_ / "a/gray.png").string(), cv::Mat(5, 6, CV_8UC1, cv::Scalar(77)));
  cv::imwrite((dir_ / "a/rgba.png").string(),
              cv::Mat(2, 2, CV_8UC4, cv::Scalar(30, 20, 10, 128)));  // B, G, R, A

  auto data = open();
  ASSERT_EQ(data->size(), 3u);
  ASSERT_EQ(data->id(0), "a/gray.png");
  const cv::Mat gray = data->image(0);
  EXPECT_EQ(gray.type(), CV_8UC3);
  EXPECT_EQ(gray.at<cv::Vec3b>(4, 5), cv::Vec3b(77, 77, 77));
  ASSERT_EQ(data->id(1), "a/photo.JPEG");
  const cv::Vec3b jpeg = data->image(1).at<cv::Vec3b>(8, 8);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(jpeg[c], kRed[c], 6) << "channel " << c;
  ASSERT_EQ(data->id(2), "a/rgba.png");
  const cv::Mat rgba = data->image(2);
  EXPECT_EQ(rgba.type(), CV_8UC3);
  EXPECT_EQ(rgba.at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 30));
}

// A JPEG whose EXIF orientation says "rotate 90 degrees clockwise" comes out upright.
TEST_F(ImageFolderTest, HonoursExifOrientation) {
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", cv::Mat(4, 8, CV_8UC3, cv::Scalar(0, 0, 255)), jpeg);
  // clang-format off
  const std::vector<unsigned char> app1 = {
      0xFF, 0xE1, 0x00, 34,  'E', 'x', 'i', 'f', 0, 0,     // marker, length, "Exif\0\0"
      'I',  'I',  0x2A, 0x00, 8,  0,   0,   0,             // little-endian TIFF, IFD0 at 8
      1,    0,                                             // one entry
      0x12, 0x01, 3,    0,    1,  0,   0,   0,   6, 0, 0, 0,  // Orientation (SHORT) = 6
      0,    0,    0,    0};                                // no next IFD
  // clang-format on
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  write_bytes(dir_ / "a/rotated.jpg", jpeg);

  const cv::Mat image = open()->image(0);
  EXPECT_EQ(image.cols, 4);
  EXPECT_EQ(image.rows, 8);
}

TEST_F(ImageFolderTest, ReadySubsetsAreReported) {
  for (const char* subset : {"train", "validation", "test"}) {
    write_image(dir_ / subset / "cat/1.png", kRed);
    write_image(dir_ / subset / "dog/1.png", kGreen);
  }
  write_image(dir_ / "train/dog/2.png", kGreen);

  auto data = open();
  EXPECT_EQ(data->classes(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(data->size(), 7u);
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < data->size(); ++i) {
    rows.push_back(data->subset(i) + " " + std::to_string(data->label(i)) + " " + data->id(i));
  }
  EXPECT_EQ(rows, (std::vector<std::string>{"train 0 train/cat/1.png", "train 1 train/dog/1.png",
                                            "train 1 train/dog/2.png", "val 0 validation/cat/1.png",
                                            "val 1 validation/dog/1.png", "test 0 test/cat/1.png",
                                            "test 1 test/dog/1.png"}));
}

TEST_F(ImageFolderTest, FlatLayoutCanBeForced) {
  write_image(dir_ / "train/1.png", kRed);
  write_image(dir_ / "other/1.png", kRed);
  auto data = open(R"(, "layout": "flat")");
  EXPECT_EQ(data->classes(), (std::vector<std::string>{"other", "train"}));
  EXPECT_EQ(data->subset(0), "");
}

TEST_F(ImageFolderTest, MissingRootIsAnError) {
  const std::string missing = root() + "/nope";
  EXPECT_EQ(message_of<DataError>(
                [&] { plugin_.dataset("image_folder", R"({"root": ")" + missing + "\"}"); }),
            missing + ": error: no such directory");
}

TEST_F(ImageFolderTest, RootWithoutClassFoldersIsAnError) {
  write_image(dir_ / "loose.png", kRed);
  EXPECT_EQ(message_of<DataError>([&] { open(); }), root() + ": error: no class folders");
}

TEST_F(ImageFolderTest, EmptyClassFolderIsAnError) {
  write_image(dir_ / "cat/1.png", kRed);
  write_text(dir_ / "dog/readme.txt", "no images here");
  try {
    open();
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              root() + "/dog: error: empty class folder: no jpg, jpeg, png, bmp or webp file");
    EXPECT_EQ(e.path(), root() + "/dog");
  }
}

TEST_F(ImageFolderTest, ClassMissingFromASubsetIsAnError) {
  write_image(dir_ / "train/cat/1.png", kRed);
  write_image(dir_ / "train/dog/1.png", kRed);
  write_image(dir_ / "val/cat/1.png", kRed);
  write_image(dir_ / "test/cat/1.png", kRed);
  write_image(dir_ / "test/dog/1.png", kRed);
  EXPECT_EQ(message_of<DataError>([&] { open(); }),
            root() + "/val: error: class 'dog' is missing (train/ has it)");
}

TEST_F(ImageFolderTest, ValAndValidationTogetherAreAnError) {
  write_image(dir_ / "train/cat/1.png", kRed);
  write_image(dir_ / "val/cat/1.png", kRed);
  write_image(dir_ / "validation/cat/1.png", kRed);
  EXPECT_EQ(message_of<DataError>([&] { open(); }),
            root() + ": error: both val/ and validation/ folders; keep one");
}

TEST_F(ImageFolderTest, CorruptImageFailsWhenDecoded) {
  write_image(dir_ / "cat/good.png", kRed);
  write_text(dir_ / "cat/bad.png", "this is not a png");
  auto data = open();
  ASSERT_EQ(data->id(0), "cat/bad.png");
  try {
    data->image(0);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()), root() + "/cat/bad.png: error: cannot decode image");
    EXPECT_EQ(e.path(), root() + "/cat/bad.png");
  }
  EXPECT_EQ(data->image(1).at<cv::Vec3b>(0, 0), kRed);
}

TEST_F(ImageFolderTest, RelativeRootResolvesAgainstTheExperimentFolder) {
  write_image(dir_ / "data/cat/1.png", kRed);
  Context context;
  context.experiment_dir = root();
  auto data = plugin_.dataset("image_folder", R"({"root": "data"})", context);
  EXPECT_EQ(data->size(), 1u);
}

TEST_F(ImageFolderTest, FingerprintFollowsTheFileList) {
  write_image(dir_ / "cat/1.png", kRed);
  write_image(dir_ / "dog/1.png", kRed);
  const std::string first = open()->fingerprint();
  EXPECT_EQ(first.size(), 16u);
  EXPECT_EQ(open()->fingerprint(), first);
  write_image(dir_ / "dog/2.png", kRed);
  const std::string second = open()->fingerprint();
  EXPECT_NE(second, first);
  fs::last_write_time(dir_ / "dog/2.png",
                      fs::last_write_time(dir_ / "dog/2.png") - std::chrono::hours(1));
  EXPECT_NE(open()->fingerprint(), second);
  EXPECT_NE(open(R"(, "layout": "flat")")->fingerprint(), open()->fingerprint());
}

}  // namespace
}  // namespace tlr::testing
