// The images `runner predict` is given: files, folders (searched recursively) and file lists,
// as one Dataset the loader decodes exactly as the bundled image datasets do (read_rgb: EXIF
// orientation, RGB, reduced JPEG decoding at the input size), so that an image predicted here
// gets the pixels it got in the run's test split.
#pragma once

#include <string>
#include <vector>

#include "tlr/dataset.h"

namespace tlr {

struct ImageInputs {
  std::vector<std::string> paths;     // in the order given; a folder's images sorted by path
  std::vector<std::string> problems;  // "<path>: error: ..." for an input that is none of these
};

// Each argument is an image file (jpg, jpeg, png, bmp, webp, any case), a folder (its image files
// at any depth, hidden ones skipped, sorted), or a file list (any other file: one path per line,
// relative to the list's folder; blank lines and lines starting with '#' skipped). A missing path
// is a problem; so is a folder without images.
ImageInputs collect_image_inputs(const std::vector<std::string>& arguments);

// A Dataset over image files: label 0 for every one of them, `classes` as its class list, ids the
// paths as given.
class ImagePaths : public Dataset {
 public:
  ImagePaths(std::vector<std::string> paths, std::vector<std::string> classes);
  std::vector<std::string> classes() const override { return classes_; }
  std::size_t size() const override { return paths_.size(); }
  int label(std::size_t) const override { return 0; }
  cv::Mat image(std::size_t i) const override;
  cv::Mat image_at_least(std::size_t i, const cv::Size& at_least) const override;
  std::string id(std::size_t i) const override { return paths_.at(i); }
  std::string fingerprint() const override;

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> classes_;
};

}  // namespace tlr
