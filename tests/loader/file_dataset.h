// A Dataset over image files written by a test into a temporary folder, counting decodes.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "datasets/test_files.h"
#include "tlr/dataset.h"
#include "tlr/error.h"

namespace tlr {
namespace testing {

class FileDataset : public Dataset {
 public:
  explicit FileDataset(std::string dir, int classes = 2)
      : dir_(std::move(dir)), classes_(classes) {}

  // Writes `image` (RGB) as <name> (PNG: lossless) with `label`.
  void add(const std::string& name, const cv::Mat& rgb, int label) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    cv::imwrite(dir_ + "/" + name, bgr);
    files_.push_back(name);
    labels_.push_back(label);
  }
  // Writes bytes that are no image as <name>.
  void add_garbage(const std::string& name, int label) {
    std::FILE* f = std::fopen((dir_ + "/" + name).c_str(), "wb");
    std::fputs("this is not a JPEG file at all", f);
    std::fclose(f);
    files_.push_back(name);
    labels_.push_back(label);
  }
  std::string path(std::size_t i) const { return dir_ + "/" + files_[i]; }
  int decodes() const { return decodes_.load(); }

  std::vector<std::string> classes() const override {
    std::vector<std::string> names;
    names.reserve(static_cast<std::size_t>(classes_));
    for (int c = 0; c < classes_; ++c) names.push_back("class" + std::to_string(c));
    return names;
  }
  std::size_t size() const override { return files_.size(); }
  int label(std::size_t i) const override { return labels_[i]; }
  cv::Mat image(std::size_t i) const override {
    ++decodes_;
    cv::Mat bgr = cv::imread(path(i), cv::IMREAD_COLOR);
    if (bgr.empty()) throw DataError(path(i), "cannot decode image");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
  }
  // Records the size hint, then decodes in full as a dataset that ignores the hint does.
  cv::Mat image_at_least(std::size_t i, const cv::Size& at_least) const override {
    {
      std::lock_guard<std::mutex> lock(hints_mutex_);
      hints_.push_back(at_least);
    }
    return image(i);
  }
  std::vector<cv::Size> hints() const {
    std::lock_guard<std::mutex> lock(hints_mutex_);
    return hints_;
  }
  std::string id(std::size_t i) const override { return files_[i]; }
  std::string fingerprint() const override {
    std::string f = dir_;
    for (const std::string& name : files_) f += "|" + name;
    return f;
  }

 private:
  std::string dir_;
  int classes_;
  std::vector<std::string> files_;
  std::vector<int> labels_;
  mutable std::atomic<int> decodes_{0};
  mutable std::mutex hints_mutex_;
  mutable std::vector<cv::Size> hints_;
};

// A solid-colour RGB image.
inline cv::Mat solid(int rows, int cols, int r, int g, int b) {
  return cv::Mat(rows, cols, CV_8UC3, cv::Scalar(r, g, b));
}

// 0, 1, ..., size - 1: every image of a dataset.
inline std::vector<std::size_t> all_indices(const Dataset& d) {
  std::vector<std::size_t> v(d.size());
  std::iota(v.begin(), v.end(), 0);
  return v;
}

}  // namespace testing
}  // namespace tlr
