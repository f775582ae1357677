#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "datasets/plugin_harness.h"
#include "datasets/test_files.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr::testing {
namespace {

const cv::Vec3b kA(1, 2, 3);
const cv::Vec3b kB(250, 128, 0);
const cv::Vec3b kC(9, 99, 199);

class Cifar10Test : public ::testing::Test {
 protected:
  void write_batches(const fs::path& folder) {
    write_bytes(folder / "data_batch_1.bin", cifar_records({6, 9}, {kA, kB}));
    write_bytes(folder / "data_batch_2.bin", cifar_records({0}, {kC}));
    write_bytes(folder / "test_batch.bin", cifar_records({3, 1}, {kB, kA}));
  }
  std::unique_ptr<Dataset> open(const std::string& extra = "") const {
    return plugin_.dataset("cifar10", R"({"root": ")" + dir_.str() +
                                          R"(", "train_files": ["data_batch_1.bin",
                                          "data_batch_2.bin"])" +
                                          extra + "}");
  }
  std::string root() const { return dir_.str(); }

  PluginHarness plugin_{"tlr_dataset_cifar10"};
  TempDir dir_;
};

TEST_F(Cifar10Test, ReadsRecordsAndSubsets) {
  write_batches(dir_.path());
  auto data = open();
  EXPECT_EQ(data->classes(),
            (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog",
                                      "frog", "horse", "ship", "truck"}));
  ASSERT_EQ(data->size(), 5u);
  std::vector<std::string> rows;
  for (std::size_t i = 0; i < data->size(); ++i) {
    rows.push_back(data->subset(i) + " " + std::to_string(data->label(i)) + " " + data->id(i));
  }
  EXPECT_EQ(rows,
            (std::vector<std::string>{"train 6 data_batch_1.bin#0", "train 9 data_batch_1.bin#1",
                                      "train 0 data_batch_2.bin#0", "test 3 test_batch.bin#0",
                                      "test 1 test_batch.bin#1"}));
  const cv::Mat image = data->image(1);
  EXPECT_EQ(image.type(), CV_8UC3);
  EXPECT_EQ(image.rows, 32);
  EXPECT_EQ(image.cols, 32);
  EXPECT_EQ(image.at<cv::Vec3b>(0, 0), kB);
  EXPECT_EQ(image.at<cv::Vec3b>(31, 31), kB);
  EXPECT_EQ(data->image(2).at<cv::Vec3b>(17, 5), kC);
  EXPECT_EQ(data->image(4).at<cv::Vec3b>(3, 30), kA);
}

TEST_F(Cifar10Test, PlanesMapToRowsAndColumns) {
  std::vector<unsigned char> record(3073, 0);
  record[0] = 2;
  record[1 + 0 * 1024 + 1 * 32 + 2] = 11;  // red at row 1, column 2
  record[1 + 1 * 1024 + 1 * 32 + 2] = 22;  // green
  record[1 + 2 * 1024 + 1 * 32 + 2] = 33;  // blue
  write_bytes(dir_ / "data_batch_1.bin", record);
  auto data = plugin_.dataset(
      "cifar10",
      R"({"root": ")" + root() + R"(", "train_files": ["data_batch_1.bin"], "test_files": []})");
  const cv::Mat image = data->image(0);
  EXPECT_EQ(image.at<cv::Vec3b>(1, 2), cv::Vec3b(11, 22, 33));
  EXPECT_EQ(image.at<cv::Vec3b>(2, 1), cv::Vec3b(0, 0, 0));
}

TEST_F(Cifar10Test, ClassNamesComeFromBatchesMeta) {
  write_batches(dir_.path());
  write_text(dir_ / "batches.meta.txt", "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n");
  auto data = open();
  ASSERT_EQ(data->classes().size(), 10u);
  EXPECT_EQ(data->classes()[9], "a9");
}

TEST_F(Cifar10Test, FindsTheExtractedFolder) {
  write_batches(dir_ / "cifar-10-batches-bin");
  auto data = open();
  EXPECT_EQ(data->size(), 5u);
}

TEST_F(Cifar10Test, MissingBatchIsAnError) {
  write_batches(dir_.path());
  fs::remove(dir_ / "test_batch.bin");
  EXPECT_THROW_MSG(open(), DataError, root() + "/test_batch.bin: error: no such file");
}

TEST_F(Cifar10Test, PartialRecordIsAnError) {
  write_batches(dir_.path());
  std::vector<unsigned char> bytes = cifar_records({1}, {kA});
  bytes.push_back(0);
  write_bytes(dir_ / "data_batch_2.bin", bytes);
  EXPECT_THROW_MSG(open(), DataError,
                   root() +
                       "/data_batch_2.bin: error: 3074 bytes is not a whole number of 3073-byte "
                       "records");
}

TEST_F(Cifar10Test, LabelBeyondTheClassesIsAnError) {
  write_batches(dir_.path());
  write_bytes(dir_ / "data_batch_2.bin", cifar_records({10}, {kA}));
  EXPECT_THROW_MSG(open(), DataError,
                   root() +
                       "/data_batch_2.bin: error: label 10 of record 0 is out of range for 10 "
                       "classes");
}

TEST_F(Cifar10Test, FingerprintFollowsFiles) {
  write_batches(dir_.path());
  const std::string first = open()->fingerprint();
  EXPECT_EQ(open()->fingerprint(), first);
  write_bytes(dir_ / "data_batch_2.bin", cifar_records({0, 1}, {kC, kC}));
  EXPECT_NE(open()->fingerprint(), first);
}

}  // namespace
}  // namespace tlr::testing
