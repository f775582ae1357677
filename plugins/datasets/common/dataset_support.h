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

// Width and height stored in a JPEG file's frame header, or an empty size when the file does not
// start like a JPEG (OpenCV too picks its decoder by the first bytes, not by the name) or has no
// readable frame header before the first scan.
inline cv::Size jpeg_size(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  auto byte = [&in]() { return in.get(); };  // -1 at the end
  auto u16 = [&]() {
    const int hi = byte();
    const int lo = byte();
    return hi < 0 || lo < 0 ? -1 : (hi << 8) | lo;
  };
  const int soi_0 = byte();
  const int soi_1 = byte();
  if (soi_0 != 0xFF || soi_1 != 0xD8) return {};  // SOI marker
  for (int segments = 0; segments < 1000; ++segments) {
    int marker = byte();
    if (marker != 0xFF) return {};
    while (marker == 0xFF) marker = byte();  // fill bytes
    // The end of the image, or a scan: no frame header first.
    if (marker < 0 || marker == 0xD9 || marker == 0xDA) return {};
    // TEM, RST0..7 and SOI stand alone: no length field.
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    const int length = u16();
    if (length < 2) return {};
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width.
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      byte();
      const int height = u16();
      const int width = u16();
      if (height <= 0 || width <= 0) return {};  // height 0: defined later by a DNL segment
      return {width, height};
    }
    in.seekg(length - 2, std::ios::cur);
  }
  return {};
}

// The libjpeg DCT scale denominator (8, 4, 2, or 1 for full size) read_rgb uses: the largest whose
// image, ceil(side / scale) per side, still covers `at_least` in both dimensions whichever way the
// EXIF orientation turns it (each reduced side >= the longer side of `at_least`: exact for square
// input sizes, cautious for others).
inline int jpeg_scale(const cv::Size& stored, const cv::Size& at_least) {
  const int need = std::max(at_least.width, at_least.height);
  if (stored.empty() || need <= 0) return 1;
  for (int scale : {8, 4, 2}) {
    if ((stored.width + scale - 1) / scale >= need && (stored.height + scale - 1) / scale >= need) {
      return scale;
    }
  }
  return 1;
}

// Part of a plugin's fingerprint: names the rule read_rgb decodes a hinted image by, so images
// cached from one rule are never taken for another's. Change it when the rule changes.
constexpr const char* kDecodeRule = "read_rgb: jpeg dct scale 1/2..1/8 covering the hint";

// Decodes an image file to RGB CV_8UC3. cv::IMREAD_COLOR applies the EXIF orientation and turns
// grayscale and RGBA files into three channels; OpenCV's BGR order is swapped to RGB.
// With a non-empty `at_least` (Dataset::image_at_least's hint), a JPEG is decoded by libjpeg at
// jpeg_scale() (cv::IMREAD_REDUCED_COLOR_*, which applies the EXIF orientation too): fewer
// inverse DCT outputs and a smaller colour conversion, for photos at least twice the input size.
// Other formats ignore the hint (OpenCV would decode them whole and shrink them bilinearly: no
// faster, and worse than the runner's area shrink).
inline cv::Mat read_rgb(const std::string& path, const cv::Size& at_least = cv::Size()) {
  auto decode = [&path](int flags) {
    cv::Mat bgr;
    try {
      bgr = cv::imread(path, flags);
    } catch (const cv::Exception&) {
      bgr.release();
    }
    return bgr;
  };
  const int scale = at_least.empty() ? 1 : jpeg_scale(jpeg_size(path), at_least);
  cv::Mat bgr;
  if (scale == 8) bgr = decode(cv::IMREAD_REDUCED_COLOR_8);
  if (scale == 4) bgr = decode(cv::IMREAD_REDUCED_COLOR_4);
  if (scale == 2) bgr = decode(cv::IMREAD_REDUCED_COLOR_2);
  // Whatever the header claimed, never return less than asked for.
  if (bgr.empty() || bgr.cols < at_least.width || bgr.rows < at_least.height) {
    bgr = decode(cv::IMREAD_COLOR);
  }
  if (bgr.empty()) throw DataError(path, "cannot decode image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
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
