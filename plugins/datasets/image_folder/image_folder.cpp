// image_folder: one sub-folder per class, as torchvision's ImageFolder and Keras'
// flow_from_directory read them, either flat (root/<class>/...) or with ready subsets
// (root/{train,val|validation,test}/<class>/...).
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

constexpr const char* kSchema =
    R"json({
  "type": "object",
  "additionalProperties": false,
  "required": ["root"],
  "properties": {
    "root": {
      "type": "string",
      "x-tlr-path": "directory",
      "description": "folder of class folders, or of train/ val/ (or validation/) test/ )json"
    R"json(folders of class folders; relative to the experiment file"
    },
    "layout": {
      "type": "string",
      "enum": ["auto", "flat", "split"],
      "default": "auto",
      "description": "flat: root/<class>/*; split: root/{train,val,test}/<class>/*, the )json"
    R"json(samples' subsets; auto: split when root has one of those folders"
    }
  }
})json";

const char* const kSubsetNames[] = {"", "train", "val", "test"};  // File::subset's names

// The class folders directly in `dir`, sorted by name (hidden folders skipped).
std::vector<std::string> class_folders(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && !is_hidden(entry.path())) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Image files anywhere under `dir`, as paths relative to `root`, sorted.
std::vector<std::string> image_files(const fs::path& root, const fs::path& dir) {
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator();
       ++it) {
    std::error_code ec;
    if (is_hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    // An image name whose status cannot be read (a symlink loop: ELOOP) or that is a dangling
    // link is listed: reading it fails, and it is skipped like any other unreadable image, with
    // its path, instead of failing the whole data set.
    if (is_image_file(it->path()) && (it->is_regular_file(ec) || ec || it->is_symlink(ec))) {
      files.push_back(it->path().lexically_relative(root).generic_string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

class ImageFolder final : public ImageFiles {
 public:
  ImageFolder(const Params& params, const Context& context)
      : ImageFiles(image_root(params, context)) {
    const std::string layout = params.string("layout");
    try {
      scan(layout);
    } catch (const fs::filesystem_error& e) {
      throw DataError(e.path1().empty() ? root_.string() : e.path1().string(),
                      problem_text(e.code()));
    }
    fingerprint_files("image_folder", params);
  }

  std::string subset(std::size_t i) const override { return kSubsetNames[files_.at(i).subset]; }

 private:
  void scan(const std::string& layout) {
    // Subset folders present under the root, in train, val, test order.
    std::vector<std::pair<int, std::string>> subsets;
    const bool has_val = fs::is_directory(root_ / "val");
    const bool has_validation = fs::is_directory(root_ / "validation");
    if (has_val && has_validation) {
      throw DataError(root_.string(), "both val/ and validation/ folders; keep one");
    }
    if (fs::is_directory(root_ / "train")) subsets.emplace_back(1, "train");
    if (has_val) subsets.emplace_back(2, "val");
    if (has_validation) subsets.emplace_back(2, "validation");
    if (fs::is_directory(root_ / "test")) subsets.emplace_back(3, "test");

    const bool split = layout == "split" || (layout == "auto" && !subsets.empty());
    if (!split) {
      classes_ = class_folders(root_);
      if (classes_.empty()) throw DataError(root_.string(), "no class folders");
      add_samples(root_, 0);
      return;
    }
    if (subsets.empty()) {
      throw DataError(root_.string(), "no train/, val/, validation/ or test/ folder");
    }
    // Every subset must hold the same classes.
    std::map<std::string, std::string> first_seen;  // class -> first subset folder holding it
    std::vector<std::vector<std::string>> per_subset;
    for (const auto& [index, folder] : subsets) {
      per_subset.push_back(class_folders(root_ / folder));
      if (per_subset.back().empty()) throw DataError((root_ / folder).string(), "no class folders");
      for (const auto& c : per_subset.back()) first_seen.emplace(c, folder);
    }
    for (const auto& [name, folder] : first_seen) classes_.push_back(name);
    for (std::size_t k = 0; k < subsets.size(); ++k) {
      for (const auto& c : classes_) {
        if (!std::binary_search(per_subset[k].begin(), per_subset[k].end(), c)) {
          throw DataError((root_ / subsets[k].second).string(),
                          "class '" + c + "' is missing (" + first_seen[c] + "/ has it)");
        }
      }
    }
    for (const auto& [index, folder] : subsets) add_samples(root_ / folder, index);
  }

  void add_samples(const fs::path& class_root, int subset) {
    for (std::size_t label = 0; label < classes_.size(); ++label) {
      const fs::path dir = class_root / classes_[label];
      const std::vector<std::string> files = image_files(root_, dir);
      if (files.empty()) {
        throw DataError(dir.string(), "empty class folder: no jpg, jpeg, png, bmp or webp file");
      }
      for (const auto& f : files) files_.push_back({f, static_cast<int>(label), subset});
    }
  }
};

void register_components(Registry& registry) {
  register_dataset<ImageFolder>(
      registry, "image_folder", kSchema,
      "images in one sub-folder per class, optionally under train/ val/ test/");
}

}  // namespace
}  // namespace tlr::datasets

TLR_PLUGIN("image_folder", "0.1.0", tlr::datasets::register_components)
