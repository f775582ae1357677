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
      "x-tlr-path": "directory",
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

class FilenameLabels final : public ImageFiles {
 public:
  FilenameLabels(const Params& params, const Context& context)
      : ImageFiles(image_root(params, context)) {
    const std::string separator = params.string("separator");

    // label -> file names, both sorted.
    std::map<std::string, std::vector<std::string>> files;
    try {
      for (const auto& entry : fs::directory_iterator(root_)) {
        const fs::path& path = entry.path();
        // As image_folder: a symlink loop or dangling link named like an image is listed, and
        // skipped as unreadable when decoded.
        std::error_code ec;
        const bool file = entry.is_regular_file(ec) || ec || entry.is_symlink(ec);
        if (is_hidden(path) || !file || !is_image_file(path)) continue;
        const std::string stem = path.stem().string();
        const std::size_t cut = stem.find(separator);
        if (cut == std::string::npos || cut == 0) {
          throw DataError(path.string(),
                          "no label: expected a name like <label>" + separator + "<rest>.<ext>");
        }
        files[stem.substr(0, cut)].push_back(path.filename().string());
      }
    } catch (const fs::filesystem_error& e) {
      throw DataError(root_.string(), problem_text(e.code()));
    }
    if (files.empty()) {
      throw DataError(root_.string(), "no jpg, jpeg, png, bmp or webp file");
    }

    std::vector<std::string> found;
    found.reserve(files.size());
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
      for (const auto& name : it->second) files_.push_back({name, static_cast<int>(i)});
    }
    fingerprint_files("filename_labels", params);
  }
};

void register_components(Registry& registry) {
  register_dataset<FilenameLabels>(
      registry, "filename_labels", kSchema,
      "a flat folder of images labelled by their file-name prefix (cat.1.jpg)");
}

}  // namespace
}  // namespace tlr::datasets

TLR_PLUGIN("filename_labels", "0.1.0", tlr::datasets::register_components)
