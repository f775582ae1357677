// Small helpers shared by the bundled dataset plugins (header-only: each plugin is its own .so and
// compiles its own copy). Not part of the SDK.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "tlr/dataset.h"
#include "tlr/error.h"
#include "tlr/image_file.h"
#include "tlr/names.h"
#include "tlr/params.h"
#include "tlr/registry.h"

namespace tlr::datasets {

// 64-bit FNV-1a: stable across platforms and runs, enough to notice a changed file list.
class Fnv64 {
 public:
  void bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) {
      state_ ^= p[i];
      state_ *= 0x100000001b3ULL;
    }
  }
  // Each field is followed by a separator byte so that ("ab","c") and ("a","bc") differ.
  void text(const std::string& s) {
    bytes(s.data(), s.size());
    bytes("\0", 1);
  }
  void number(std::uint64_t v) {
    unsigned char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<unsigned char>(v >> (8 * i));
    bytes(le, 8);
  }
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(state_));
    return out;
  }

 private:
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

inline std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// jpg, jpeg, png, bmp, webp in any letter case.
inline bool is_image_file(const std::filesystem::path& path) {
  static const char* const kExtensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".webp"};
  const std::string ext = lower(path.extension().string());
  return std::any_of(std::begin(kExtensions), std::end(kExtensions),
                     [&](const char* e) { return ext == e; });
}

inline bool is_hidden(const std::filesystem::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

// Size and modification time of a file, folded into a fingerprint.
inline void hash_file_stamp(Fnv64& hash, const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  hash.number(ec ? 0 : static_cast<std::uint64_t>(size));
  const auto mtime = std::filesystem::last_write_time(path, ec);
  hash.number(ec ? 0 : static_cast<std::uint64_t>(mtime.time_since_epoch().count()));
}

// Part of a plugin's fingerprint: names the rule read_rgb decodes a hinted image by, so images
// cached from one rule are never taken for another's. Change it when the rule changes.
constexpr const char* kDecodeRule = "read_rgb: jpeg dct scale 1/2..1/8 covering the hint";

// tlr::read_image_rgb (tlr/image_file.h): cv::imread's pixels, a JPEG at a reduced DCT scale
// that still covers `at_least`, libjpeg's warnings reported with the file's path.
inline cv::Mat read_rgb(const std::string& path, const cv::Size& at_least = cv::Size()) {
  return read_image_rgb(path, at_least);
}

// A grayscale byte image replicated into three channels (RGB, CV_8UC3).
inline cv::Mat gray_to_rgb(const unsigned char* pixels, int rows, int cols) {
  cv::Mat gray(rows, cols, CV_8UC1, const_cast<unsigned char*>(pixels));
  cv::Mat rgb;
  cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
  return rgb;
}

// "; did you mean 'x'?" when a known name is close to `name` (case aside), else "; known: a, b, c".
inline std::string suggestion(const std::string& name, const std::vector<std::string>& known) {
  std::string guess = did_you_mean(name, known, /*ignore_case=*/true);
  if (!guess.empty()) return guess;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return "; known: " + list;
}

// An error code's message as the tail of a DataError: "permission denied".
inline std::string problem_text(const std::error_code& ec) {
  std::string s = ec.message();
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// The `root` parameter resolved against the experiment file, without a trailing separator, and
// checked to be a folder.
inline std::filesystem::path image_root(const Params& params, const Context& context) {
  std::filesystem::path root = context.resolve(params.string("root"));
  if (root.filename().empty() && root.has_relative_path()) root = root.parent_path();
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) throw DataError(root.string(), "no such directory");
  if (!std::filesystem::is_directory(root, ec)) throw DataError(root.string(), "not a directory");
  return root;
}

// A dataset of image files under one folder (image_folder, filename_labels): the derived
// constructor lists classes_ and files_, then calls fingerprint_files().
class ImageFiles : public Dataset {
 public:
  std::vector<std::string> classes() const override { return classes_; }
  std::size_t size() const override { return files_.size(); }
  int label(std::size_t i) const override { return files_.at(i).label; }
  cv::Mat image(std::size_t i) const override { return read_rgb(path(i)); }
  cv::Mat image_at_least(std::size_t i, const cv::Size& at_least) const override {
    return read_rgb(path(i), at_least);
  }
  std::string id(std::size_t i) const override { return files_.at(i).relative; }
  std::string fingerprint() const override { return fingerprint_; }

 protected:
  struct File {
    std::string relative;  // path under the root, '/'-separated: the sample's id
    int label;
    int subset = 0;  // the derived class's own numbering of subsets (0: none)
  };

  explicit ImageFiles(std::filesystem::path root) : root_(std::move(root)) {}

  // The plugin's name and parameters, the decode rule and every file's name, size and
  // modification time: a changed file list or an edited image gives another fingerprint.
  void fingerprint_files(const std::string& plugin, const Params& params) {
    Fnv64 hash;
    hash.text(plugin);
    hash.text(params.json());
    hash.text(kDecodeRule);
    for (const auto& f : files_) {
      hash.text(f.relative);
      hash_file_stamp(hash, root_ / f.relative);
    }
    fingerprint_ = hash.hex();
  }

  std::string path(std::size_t i) const { return (root_ / files_.at(i).relative).string(); }

  std::filesystem::path root_;
  std::vector<std::string> classes_;
  std::vector<File> files_;

 private:
  std::string fingerprint_;
};

// Registers dataset T, built from (params, context).
template <class T>
void register_dataset(Registry& registry, const char* name, const char* schema,
                      const char* summary) {
  registry.dataset(
      name,
      [](const Params& p, const Context& c) -> std::unique_ptr<Dataset> {
        return std::make_unique<T>(p, c);
      },
      schema, summary);
}

}  // namespace tlr::datasets
