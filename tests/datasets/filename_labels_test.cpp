#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "datasets/plugin_harness.h"
#include "datasets/test_files.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr::testing {
namespace {

const cv::Vec3b kRed(200, 10, 20);
const cv::Vec3b kGreen(10, 200, 30);

class FilenameLabelsTest : public ::testing::Test {
 protected:
  std::unique_ptr<Dataset> open(const std::string& extra = "") const {
    return plugin_.dataset("filename_labels", R"({"root": ")" + dir_.str() + "\"" + extra + "}");
  }
  std::string root() const { return dir_.str(); }

  PluginHarness plugin_{"tlr_dataset_filename_labels"};
  TempDir dir_;
};

TEST_F(FilenameLabelsTest, LabelIsTheNamePrefix) {
  write_image(dir_ / "dog.7.png", kGreen);
  write_image(dir_ / "cat.10.jpg", kRed);
  write_image(dir_ / "cat.2.png", kRed);
  write_text(dir_ / "list.txt", "ignored");
  write_image(dir_ / "sub/cat.3.png", kRed);  // not flat: ignored

  auto data = open();
  EXPECT_EQ(data->classes(), (std::vector<std::string>{"cat", "dog"}));
  ASSERT_EQ(data->size(), 3u);
  EXPECT_EQ(data->id(0), "cat.10.jpg");
  EXPECT_EQ(data->id(1), "cat.2.png");
  EXPECT_EQ(data->id(2), "dog.7.png");
  EXPECT_EQ(data->label(0), 0);
  EXPECT_EQ(data->label(2), 1);
  EXPECT_EQ(data->subset(0), "");
  EXPECT_EQ(data->image(1).at<cv::Vec3b>(0, 0), kRed);
  EXPECT_EQ(data->image(2).at<cv::Vec3b>(2, 3), kGreen);
  EXPECT_EQ(data->fingerprint().size(), 16u);
}

// The size hint reaches the shared decoder: a JPEG comes back reduced, never below the hint.
TEST_F(FilenameLabelsTest, JpegIsDecodedReducedForTheHint) {
  write_bytes(dir_ / "cat.1.jpg", jpeg_with_orientation(photo(800, 600), 1));
  auto data = open();
  EXPECT_EQ(data->image(0).size(), cv::Size(800, 600));
  EXPECT_EQ(data->image_at_least(0, cv::Size(150, 150)).size(), cv::Size(200, 150));
  EXPECT_EQ(data->image_at_least(0, cv::Size(500, 500)).size(), cv::Size(800, 600));
}

TEST_F(FilenameLabelsTest, SeparatorIsConfigurable) {
  write_image(dir_ / "tabby_cat_1.png", kRed);
  write_image(dir_ / "pug_2.png", kRed);
  auto data = open(R"(, "separator": "_")");
  EXPECT_EQ(data->classes(), (std::vector<std::string>{"pug", "tabby"}));
}

TEST_F(FilenameLabelsTest, ClassesKeepsTheListedLabelsInTheirOrder) {
  write_image(dir_ / "cat.1.png", kRed);
  write_image(dir_ / "dog.1.png", kRed);
  write_image(dir_ / "dog.2.png", kRed);
  write_image(dir_ / "fox.1.png", kRed);
  auto data = open(R"(, "classes": ["dog", "cat"])");
  EXPECT_EQ(data->classes(), (std::vector<std::string>{"dog", "cat"}));
  ASSERT_EQ(data->size(), 3u);
  EXPECT_EQ(data->id(0), "dog.1.png");
  EXPECT_EQ(data->label(0), 0);
  EXPECT_EQ(data->id(2), "cat.1.png");
  EXPECT_EQ(data->label(2), 1);
}

TEST_F(FilenameLabelsTest, UnknownClassSuggestsAName) {
  write_image(dir_ / "cat.1.png", kRed);
  write_image(dir_ / "dog.1.png", kRed);
  EXPECT_THROW_MSG(open(R"(, "classes": ["dgo"])"), DataError,
                   root() + ": error: no file of class 'dgo'; did you mean 'dog'?");
}

TEST_F(FilenameLabelsTest, NameWithoutLabelIsAnError) {
  write_image(dir_ / "cat.1.png", kRed);
  write_image(dir_ / "12.png", kRed);
  EXPECT_THROW_MSG(open(), DataError,
                   root() + "/12.png: error: no label: expected a name like <label>.<rest>.<ext>");
}

TEST_F(FilenameLabelsTest, FolderWithoutImagesIsAnError) {
  write_text(dir_ / "readme.txt", "nothing");
  EXPECT_THROW_MSG(open(), DataError, root() + ": error: no jpg, jpeg, png, bmp or webp file");
}

TEST_F(FilenameLabelsTest, MissingRootIsAnError) {
  const std::string missing = root() + "/train";
  EXPECT_THROW_MSG(plugin_.dataset("filename_labels", R"({"root": ")" + missing + "\"}"), DataError,
                   missing + ": error: no such directory");
}

TEST_F(FilenameLabelsTest, CorruptImageFailsWhenDecoded) {
  write_text(dir_ / "cat.1.jpg", "garbage");
  auto data = open();
  EXPECT_THROW_MSG(data->image(0), DataError, root() + "/cat.1.jpg: error: cannot decode image");
}

}  // namespace
}  // namespace tlr::testing
