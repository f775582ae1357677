#include "core/use/image_inputs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/dataset_support.h"  // plugins/datasets/common: the bundled datasets' decoder

namespace tlr {

namespace fs = std::filesystem;

namespace {

void add_folder(const fs::path& folder, ImageInputs& out) {
  std::vector<std::string> found;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    out.problems.push_back(folder.string() +
                           ": error: cannot list folder: " + datasets::problem_text(ec));
    return;
  }
  for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
    if (ec) break;
    if (datasets::is_hidden(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && datasets::is_image_file(it->path())) {
      found.push_back(it->path().string());
    }
  }
  if (found.empty()) {
    out.problems.push_back(folder.string() + ": error: no image files (jpg, jpeg, png, bmp, webp)");
    return;
  }
  std::sort(found.begin(), found.end());
  out.paths.insert(out.paths.end(), found.begin(), found.end());
}

void add_list(const fs::path& list, ImageInputs& out) {
  std::ifstream in(list);
  if (!in) {
    out.problems.push_back(list.string() + ": error: cannot read file list");
    return;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    fs::path path(line);
    if (path.is_relative()) path = list.parent_path() / path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      out.problems.push_back(list.string() + ":" + std::to_string(number) +
                             ": error: " + path.string() + ": no such image file");
      continue;
    }
    out.paths.push_back(path.lexically_normal().string());
  }
}

}  // namespace

ImageInputs collect_image_inputs(const std::vector<std::string>& arguments) {
  ImageInputs out;
  for (const std::string& argument : arguments) {
    const fs::path path(argument);
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      out.problems.push_back(argument + ": error: no such file or folder");
    } else if (fs::is_directory(status)) {
      add_folder(path, out);
    } else if (datasets::is_image_file(path)) {
      out.paths.push_back(argument);
    } else {
      add_list(path, out);
    }
  }
  return out;
}

ImagePaths::ImagePaths(std::vector<std::string> paths, std::vector<std::string> classes)
    : paths_(std::move(paths)), classes_(std::move(classes)) {}

cv::Mat ImagePaths::image(std::size_t i) const { return datasets::read_rgb(paths_.at(i)); }

cv::Mat ImagePaths::image_at_least(std::size_t i, const cv::Size& at_least) const {
  return datasets::read_rgb(paths_.at(i), at_least);
}

std::string ImagePaths::fingerprint() const {
  // Never cached (predict keeps decoded images in memory only), but stable all the same.
  datasets::Fnv64 hash;
  hash.text(datasets::kDecodeRule);
  for (const auto& p : paths_) {
    hash.text(p);
    datasets::hash_file_stamp(hash, p);
  }
  return hash.hex();
}

}  // namespace tlr
