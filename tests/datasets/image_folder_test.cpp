#include <gtest/gtest.h>

#include <algorithm>
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
#include "engine/data/split_images.h"
#include "support/expect_throw.h"
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

  PluginHarness plugin_{"tlr_dataset_image_folder"};
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
  const cv::Mat blue(4, 8, CV_8UC3, cv::Scalar(0, 0, 255));
  write_bytes(dir_ / "a/rotated.jpg", jpeg_with_orientation(blue, 6));
  const cv::Mat image = open()->image(0);
  EXPECT_EQ(image.cols, 4);
  EXPECT_EQ(image.rows, 8);
}

// image_at_least: an 800 x 600 JPEG decoded by libjpeg at the smallest 1/2^k scale that still
// covers the hint, and the full image when no scale does.
TEST_F(ImageFolderTest, JpegIsDecodedReducedButNeverBelowTheHint) {
  write_bytes(dir_ / "a/photo.jpg", jpeg_with_orientation(photo(800, 600), 1));
  auto data = open();
  EXPECT_EQ(data->image(0).size(), cv::Size(800, 600));
  EXPECT_EQ(data->image_at_least(0, cv::Size()).size(), cv::Size(800, 600));
  const cv::Mat small = data->image_at_least(0, cv::Size(150, 150));
  EXPECT_EQ(small.type(), CV_8UC3);
  EXPECT_GE(small.cols, 150);
  EXPECT_GE(small.rows, 150);
  EXPECT_EQ(small.size(), cv::Size(200, 150));  // 1/4; 1/8 (100 x 75) would be too small
  EXPECT_EQ(data->image_at_least(0, cv::Size(300, 300)).size(), cv::Size(400, 300));  // 1/2
  EXPECT_EQ(data->image_at_least(0, cv::Size(500, 500)).size(), cv::Size(800, 600));
  EXPECT_EQ(data->image_at_least(0, cv::Size(1000, 1000)).size(), cv::Size(800, 600));
}

// What the runner keeps (the image shrunk to the input size) is the same within noise whether it
// was shrunk from the full decode or from the reduced one.
TEST_F(ImageFolderTest, ReducedDecodeShrinksToTheSamePixels) {
  write_bytes(dir_ / "a/photo.jpg", jpeg_with_orientation(photo(800, 600), 1));
  auto data = open();
  const cv::Mat full = data->image(0);
  for (const cv::Size input : {cv::Size(150, 150), cv::Size(224, 224), cv::Size(300, 200)}) {
    const cv::Mat reduced = data->image_at_least(0, input);
    EXPECT_LT(reduced.cols, full.cols) << input;
    cv::Mat from_full, from_reduced;
    resize_to_input(full, from_full, input.height, input.width);
    resize_to_input(reduced, from_reduced, input.height, input.width);
    EXPECT_LT(mean_abs_difference(from_full, from_reduced), 3.0) << input;
  }
}

// A rotated JPEG: the reduced decode is upright too, and covers the hint as displayed.
TEST_F(ImageFolderTest, ReducedDecodeHonoursExifOrientation) {
  write_bytes(dir_ / "a/rotated.jpg", jpeg_with_orientation(photo(800, 600), 6));
  auto data = open();
  const cv::Mat full = data->image(0);
  ASSERT_EQ(full.size(), cv::Size(600, 800));
  const cv::Mat reduced = data->image_at_least(0, cv::Size(150, 150));
  EXPECT_EQ(reduced.size(), cv::Size(150, 200));
  // A tall hint: 1/4 (150 x 200 upright) would just fit, but the rule does not read the EXIF
  // block, so it asks each side to cover the hint's longer side and takes 1/2.
  EXPECT_EQ(data->image_at_least(0, cv::Size(150, 200)).size(), cv::Size(300, 400));
  cv::Mat from_full, from_reduced;
  resize_to_input(full, from_full, 150, 150);
  resize_to_input(reduced, from_reduced, 150, 150);
  EXPECT_LT(mean_abs_difference(from_full, from_reduced), 3.0);
}

// Other formats ignore the hint: OpenCV would decode them whole and shrink them bilinearly. The
// format is read from the file's first bytes, as OpenCV does, not from its name.
TEST_F(ImageFolderTest, HintIsIgnoredForOtherFormats) {
  fs::create_directories(dir_ / "a");
  cv::imwrite((dir_ / "a/photo.png").string(), photo(800, 600));
  cv::imwrite((dir_ / "a/png_named.png").string(), photo(800, 600));
  fs::rename(dir_ / "a/png_named.png", dir_ / "a/png_named.jpg");
  auto data = open();
  ASSERT_EQ(data->id(0), "a/photo.png");
  EXPECT_EQ(data->image_at_least(0, cv::Size(150, 150)).size(), cv::Size(800, 600));
  ASSERT_EQ(data->id(1), "a/png_named.jpg");
  EXPECT_EQ(data->image_at_least(1, cv::Size(150, 150)).size(), cv::Size(800, 600));
}

TEST_F(ImageFolderTest, CorruptJpegFailsWithTheHintToo) {
  std::vector<unsigned char> jpeg = jpeg_with_orientation(photo(800, 600), 1);
  const unsigned char start_of_scan[] = {0xFF, 0xDA};
  jpeg.erase(
      std::search(jpeg.begin(), jpeg.end(), std::begin(start_of_scan), std::end(start_of_scan)),
      jpeg.end());  // the frame header (800 x 600) survives, the scan does not
  write_bytes(dir_ / "cat/bad.jpg", jpeg);
  auto data = open();
  EXPECT_THROW_MSG(data->image_at_least(0, cv::Size(150, 150)), DataError,
                   root() +
                       "/cat/bad.jpg: error: cannot decode image: invalid JPEG file "
                       "structure: missing SOS marker");
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
  EXPECT_THROW_MSG(plugin_.dataset("image_folder", R"({"root": ")" + missing + "\"}"), DataError,
                   missing + ": error: no such directory");
}

TEST_F(ImageFolderTest, RootWithoutClassFoldersIsAnError) {
  write_image(dir_ / "loose.png", kRed);
  EXPECT_THROW_MSG(open(), DataError, root() + ": error: no class folders");
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
  EXPECT_THROW_MSG(open(), DataError,
                   root() + "/val: error: class 'dog' is missing (train/ has it)");
}

TEST_F(ImageFolderTest, ValAndValidationTogetherAreAnError) {
  write_image(dir_ / "train/cat/1.png", kRed);
  write_image(dir_ / "val/cat/1.png", kRed);
  write_image(dir_ / "validation/cat/1.png", kRed);
  EXPECT_THROW_MSG(open(), DataError,
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

// A symlink loop named like an image used to throw out of the listing (ELOOP) and fail the
// whole run; it is an unreadable image like any other, with its path.
TEST_F(ImageFolderTest, ASymlinkLoopIsAnUnreadableImageNotAFailedListing) {
  write_image(dir_ / "cat/good.png", kRed);
  std::filesystem::create_symlink("loop.jpg", dir_ / "cat/loop.jpg");
  std::filesystem::create_symlink("gone.jpg", dir_ / "cat/dangling.jpg");
  auto data = open();
  ASSERT_EQ(data->size(), 3u);
  EXPECT_EQ(data->id(0), "cat/dangling.jpg");
  EXPECT_EQ(data->id(2), "cat/loop.jpg");
  for (std::size_t i : {0u, 2u}) {
    SCOPED_TRACE(data->id(i));
    try {
      data->image(i);
      FAIL() << "no error";
    } catch (const DataError& e) {
      EXPECT_EQ(e.path(), root() + "/" + data->id(i));
      EXPECT_EQ(std::string(e.what()).rfind(root() + "/" + data->id(i) + ": error: ", 0), 0u)
          << e.what();
    }
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
