// filename_labels: a flat folder whose file names carry the label before a separator, as Kaggle's
// dogs-vs-cats train/ folder does (cat.123.jpg -> "cat").
#include <algorithm>
#include <filesystem>
#include <map>
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
      "description": "flat folder of images named <label><separator><rest>.<ext>; )json"
                                R"json(relative to the experiment file"
    },
    "separator": {
      "type": "string",
      "minLength": 1,
      "default": ".",
      "description": "the label is the part of the file name before the first occurrence of this"
    },
    "classes": {
      "type": "array",
      "items": {"type": "string"},
      "default": [],
      "description": "labels to keep, in label order; empty: every label found, sorted by name"
    }
  }
})json";

struct Sample {
  std::string name;  // file name in the root folder
  int label;
};

class FilenameLabels final : public Dataset {
 public:
  FilenameLabels(const Params& params, const Context& context)
      : root_(context.resolve(params.string("root"))) {
    if (root_.filename().empty() && root_.has_relative_path()) root_ = root_.parent_path();
    const std::string separator = params.string("separator", ".");
    if (separator.empty()) {
      throw Error("filename_labels: error: parameter 'separator' must not be empty");
    }
    std::error_code ec;
    if (!fs::exists(root_, ec)) throw DataError(root_.string(), "no such directory");
    if (!fs::is_directory(root_, ec)) throw DataError(root_.string(), "not a directory");

    // label -> file names, both sorted.
    std::map<std::string, std::vector<std::string>> files;
    try {
      for (const auto& entry : fs::directory_iterator(root_)) {
        const fs::path& path = entry.path();
        if (is_hidden(path) || !entry.is_regular_file() || !is_image_file(path)) continue;
        const std::string stem = path.stem().string();
        const std::size_t cut = stem.find(separator);
        if (cut == std::string::npos || cut == 0) {
          throw DataError(path.string(),
                          "no label: expected a name like <label>" + separator + "<rest>.<ext>");
        }
        files[stem.substr(0, cut)].push_back(path.filename().string());
      }
    } catch (const fs::filesystem_error& e) {
      std::string problem = e.code().message();
      if (!problem.empty())
        problem[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(problem[0])));
      throw DataError(root_.string(), problem);
    }
    if (files.empty()) {
      throw DataError(root_.string(), "no jpg, jpeg, png, bmp or webp file");
    }

    std::vector<std::string> found;
    for (const auto& [label, names] : files) found.push_back(label);
    classes_ = params.strings("classes");
    if (classes_.empty()) classes_ = found;
    for (std::size_t i = 0; i < classes_.size(); ++i) {
      if (std::find(classes_.begin(), classes_.begin() + i, classes_[i]) != classes_.begin() + i) {
        throw Error("filename_labels: error: parameter 'classes' lists '" + classes_[i] +
                    "' twice");
      }
      auto it = files.find(classes_[i]);
      if (it == files.end()) {
        throw DataError(root_.string(),
                        "no file of class '" + classes_[i] + "'" + suggestion(classes_[i], found));
      }
      std::sort(it->second.begin(), it->second.end());
      for (const auto& name : it->second) samples_.push_back({name, static_cast<int>(i)});
    }

    Fnv64 hash;
    hash.text("filename_labels");
    hash.text(params.json());
    hash.text(kDecodeRule);
    for (const auto& s : samples_) {
      hash.text(s.name);
      hash_file_stamp(hash, root_ / s.name);
    }
    fingerprint_ = hash.hex();
  }

  std::vector<std::string> classes() const override { return classes_; }
  std::size_t size() const override { return samples_.size(); }
  int label(std::size_t i) const override { return samples_.at(i).label; }
  cv::Mat image(std::size_t i) const override {
    return read_rgb((root_ / samples_.at(i).name).string());
  }
  cv::Mat image_at_least(std::size_t i, const cv::Size& at_least) const override {
    return read_rgb((root_ / samples_.at(i).name).string(), at_least);
  }
  std::string id(std::size_t i) const override { return samples_.at(i).name; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  fs::path root_;
  std::vector<std::string> classes_;
  std::vector<Sample> samples_;
  std::string fingerprint_;
};

void register_components(Registry& registry) {
  registry.dataset(
      "filename_labels",
      [](const Params& p, const Context& c) -> std::unique_ptr<Dataset> {
        return std::make_unique<FilenameLabels>(p, c);
      },
      kSchema, "a flat folder of images labelled by their file-name prefix (cat.1.jpg)");
}

}  // namespace
}  // namespace tlr::datasets

TLR_PLUGIN("filename_labels", "0.1.0", tlr::datasets::register_components)
