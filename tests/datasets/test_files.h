// Test data written on the fly: a temporary folder, images, idx files (raw and gzip) and CIFAR-10
// records, plus a helper that returns the message of the exception a call throws.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

namespace tlr::testing {

namespace fs = std::filesystem;

// A fresh folder under the system temp folder, removed with everything in it at scope exit; kept
// when the environment has TLR_TEST_KEEP (to look at what a failed test wrote).
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("tlr_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("TLR_TEST_KEEP") != nullptr) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  fs::path operator/(const std::string& relative) const { return path_ / relative; }

 private:
  fs::path path_;
};

// A w x h image of one RGB colour written with cv::imwrite (which takes BGR).
inline void write_image(const fs::path& path, cv::Vec3b rgb, int w = 4, int h = 3) {
  fs::create_directories(path.parent_path());
  cv::Mat bgr(h, w, CV_8UC3, cv::Scalar(rgb[2], rgb[1], rgb[0]));
  if (!cv::imwrite(path.string(), bgr)) throw std::runtime_error("cannot write " + path.string());
}

// A w x h photo-like RGB image: a colour gradient, soft-edged discs and sensor noise.
inline cv::Mat photo(int w, int h) {
  cv::Mat img(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<unsigned char>(x * 255 / w),
                                          static_cast<unsigned char>(y * 255 / h),
                                          static_cast<unsigned char>((x + y) % 256));
    }
  }
  cv::RNG rng(7);
  for (int k = 0; k < 8; ++k) {
    const cv::Scalar colour(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    cv::circle(img, {rng.uniform(0, w), rng.uniform(0, h)}, rng.uniform(20, 150), colour,
               cv::FILLED, cv::LINE_AA);
  }
  cv::Mat noise(img.size(), CV_8UC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 6);
  return img + noise;
}

// The bytes of a JPEG (quality 90) of `rgb` with an EXIF block whose Orientation tag is
// `orientation` (6: "rotate 90 degrees clockwise to display").
inline std::vector<unsigned char> jpeg_with_orientation(const cv::Mat& rgb, int orientation) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<unsigned char> jpeg;
  cv::imencode(".jpg", bgr, jpeg, {cv::IMWRITE_JPEG_QUALITY, 90});
  const auto o = static_cast<unsigned char>(orientation);
  // clang-format off
  const std::vector<unsigned char> app1 = {
      0xFF, 0xE1, 0x00, 34,  'E', 'x', 'i', 'f', 0, 0,     // marker, length, "Exif\0\0"
      'I',  'I',  0x2A, 0x00, 8,  0,   0,   0,             // little-endian TIFF, IFD0 at 8
      1,    0,                                             // one entry
      0x12, 0x01, 3,    0,    1,  0,   0,   0,   o, 0, 0, 0,  // Orientation (SHORT)
      0,    0,    0,    0};                                // no next IFD
  // clang-format on
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

// Mean over pixels and channels of |a - b|, in 0..255 levels.
inline double mean_abs_difference(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d);
  return (m[0] + m[1] + m[2]) / 3;
}

inline void write_bytes(const fs::path& path, const std::vector<unsigned char>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline void write_text(const fs::path& path, const std::string& text) {
  write_bytes(path, std::vector<unsigned char>(text.begin(), text.end()));
}

inline void write_gzip(const fs::path& path, const std::vector<unsigned char>& bytes) {
  fs::create_directories(path.parent_path());
  gzFile gz = gzopen(path.c_str(), "wb");
  if (gz == nullptr) throw std::runtime_error("cannot write " + path.string());
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
}

inline void put_be32(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int shift : {24, 16, 8, 0}) out.push_back(static_cast<unsigned char>(v >> shift));
}

// An idx3 file of `count` images of rows x cols; pixel (k, y, x) = pixel(k, y, x).
inline std::vector<unsigned char> idx_images(std::uint32_t count, std::uint32_t rows,
                                             std::uint32_t cols,
                                             const std::function<int(int, int, int)>& pixel) {
  std::vector<unsigned char> out;
  for (std::uint32_t v : {0x803u, count, rows, cols}) put_be32(out, v);
  for (std::uint32_t k = 0; k < count; ++k) {
    for (std::uint32_t y = 0; y < rows; ++y) {
      for (std::uint32_t x = 0; x < cols; ++x) {
        out.push_back(static_cast<unsigned char>(
            pixel(static_cast<int>(k), static_cast<int>(y), static_cast<int>(x))));
      }
    }
  }
  return out;
}

inline std::vector<unsigned char> idx_labels(const std::vector<unsigned char>& labels) {
  std::vector<unsigned char> out;
  put_be32(out, 0x801u);
  put_be32(out, static_cast<std::uint32_t>(labels.size()));
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// CIFAR-10 records: label byte, then the red, green and blue 32x32 planes; record k has the
// colour colours[k] everywhere.
inline std::vector<unsigned char> cifar_records(const std::vector<unsigned char>& labels,
                                                const std::vector<cv::Vec3b>& colours) {
  std::vector<unsigned char> out;
  for (std::size_t k = 0; k < labels.size(); ++k) {
    out.push_back(labels[k]);
    for (int c = 0; c < 3; ++c) out.insert(out.end(), 1024, colours[k][c]);
  }
  return out;
}

}  // namespace tlr::testing
