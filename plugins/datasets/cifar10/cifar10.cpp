// cifar10: the CIFAR-10 binary version (cifar-10-batches-bin): records of 1 label byte followed by
// the 32x32 red, green and blue planes. Labels are read at construction, pixels on demand.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "../common/dataset_support.h"
#include "tlr/dataset.h"
#include "tlr/error.h"
#include "tlr/params.h"
#include "tlr/plugin.h"
#include "tlr/registry.h"

namespace tlr::datasets {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "required": ["root"],
  "properties": {
    "root": {
      "type": "string",
      "x-tlr-path": "directory",
      "description": "folder of data_batch_1.bin ... test_batch.bin, or its parent; )json"
                                R"json(relative to the experiment file"
    },
    "classes": {
      "type": "array",
      "items": {"type": "string"},
      "default": [],
      "description": "class names by label value; empty: batches.meta.txt's lines )json"
                                R"json(when present, else the standard ten names"
    },
    "train_files": {
      "type": "array",
      "items": {"type": "string"},
      "default": ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                  "data_batch_5.bin"],
      "description": "batch files whose samples form the train subset"
    },
    "test_files": {
      "type": "array",
      "items": {"type": "string"},
      "default": ["test_batch.bin"],
      "description": "batch files whose samples form the test subset"
    }
  }
})json";

const std::vector<std::string> kCifarClasses = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                "dog",      "frog",       "horse", "ship", "truck"};

constexpr std::size_t kSide = 32;
constexpr std::size_t kPlane = kSide * kSide;
constexpr std::size_t kRecord = 1 + 3 * kPlane;

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  const std::size_t first = s.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

std::vector<std::string> read_meta(const fs::path& path) {
  std::vector<std::string> names;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

class Cifar10 final : public Dataset {
 public:
  Cifar10(const Params& params, const Context& context)
      : root_(context.resolve(params.string("root"))) {
    std::error_code ec;
    if (!fs::is_directory(root_, ec)) throw DataError(root_.string(), "no such directory");
    if (!fs::exists(root_ / "data_batch_1.bin", ec) && !fs::exists(root_ / "test_batch.bin", ec) &&
        fs::is_directory(root_ / "cifar-10-batches-bin", ec)) {
      root_ /= "cifar-10-batches-bin";
    }
    classes_ = params.strings("classes");
    if (classes_.empty()) classes_ = read_meta(root_ / "batches.meta.txt");
    if (classes_.empty()) classes_ = kCifarClasses;

    std::vector<std::string> train = params.strings("train_files");
    std::vector<std::string> test = params.strings("test_files");
    if (!params.has("train_files")) {
      train = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
               "data_batch_5.bin"};
    }
    if (!params.has("test_files")) test = {"test_batch.bin"};

    Fnv64 hash;
    hash.text("cifar10");
    hash.text(params.json());
    for (const auto& name : train) add_file(name, "train", hash);
    for (const auto& name : test) add_file(name, "test", hash);
    if (samples_.empty()) throw DataError(root_.string(), "no batch files");
    fingerprint_ = hash.hex();
  }

  std::vector<std::string> classes() const override { return classes_; }
  std::size_t size() const override { return samples_.size(); }
  int label(std::size_t i) const override { return samples_.at(i).label; }
  cv::Mat image(std::size_t i) const override {
    const Sample& s = samples_.at(i);
    const fs::path path = root_ / files_[s.file].name;
    // One stream per call keeps image() safe to call from several threads.
    std::ifstream in(path, std::ios::binary);
    unsigned char record[kRecord];
    in.seekg(static_cast<std::streamoff>(s.record * kRecord));
    if (!in.read(reinterpret_cast<char*>(record), kRecord)) {
      throw DataError(path.string(), "cannot read record " + std::to_string(s.record));
    }
    cv::Mat rgb(kSide, kSide, CV_8UC3);
    for (std::size_t p = 0; p < kPlane; ++p) {
      auto& pixel = rgb.at<cv::Vec3b>(static_cast<int>(p / kSide), static_cast<int>(p % kSide));
      for (int c = 0; c < 3; ++c) pixel[c] = record[1 + c * kPlane + p];
    }
    return rgb;
  }
  std::string id(std::size_t i) const override {
    const Sample& s = samples_.at(i);
    return files_[s.file].name + "#" + std::to_string(s.record);
  }
  std::string subset(std::size_t i) const override { return files_[samples_.at(i).file].subset; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  struct File {
    std::string name;
    std::string subset;
  };
  struct Sample {
    std::size_t file;
    std::size_t record;
    int label;
  };

  void add_file(const std::string& name, const std::string& subset, Fnv64& hash) {
    const fs::path path = root_ / name;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw DataError(path.string(), "no such file");
    const auto bytes = static_cast<std::size_t>(fs::file_size(path, ec));
    if (ec || bytes == 0 || bytes % kRecord != 0) {
      throw DataError(path.string(), std::to_string(bytes) + " bytes is not a whole number of " +
                                         std::to_string(kRecord) + "-byte records");
    }
    hash.text(name);
    hash_file_stamp(hash, path);
    std::ifstream in(path, std::ios::binary);
    std::vector<char> record(kRecord);
    const std::size_t file = files_.size();
    files_.push_back({name, subset});
    for (std::size_t r = 0; r < bytes / kRecord; ++r) {
      if (!in.read(record.data(), kRecord)) {
        throw DataError(path.string(), "cannot read record " + std::to_string(r));
      }
      const auto label = static_cast<unsigned char>(record[0]);
      if (label >= classes_.size()) {
        throw DataError(path.string(), "label " + std::to_string(label) + " of record " +
                                           std::to_string(r) + " is out of range for " +
                                           std::to_string(classes_.size()) + " classes");
      }
      samples_.push_back({file, r, label});
    }
  }

  fs::path root_;
  std::vector<std::string> classes_;
  std::vector<File> files_;
  std::vector<Sample> samples_;
  std::string fingerprint_;
};

void register_components(Registry& registry) {
  register_dataset<Cifar10>(registry, "cifar10", kSchema,
                            "the CIFAR-10 binary batches (cifar-10-batches-bin)");
}

}  // namespace
}  // namespace tlr::datasets

TLR_PLUGIN("cifar10", "0.1.0", tlr::datasets::register_components)
