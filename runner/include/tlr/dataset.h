// A data set plugin: a list of labelled images. Splitting, caching and batching are the runner's.
#pragma once

#include <cstddef>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

class TLR_API Dataset {
 public:
  virtual ~Dataset();

  // Class names; a label is an index into this list. Sorted names unless the format fixes an order.
  virtual std::vector<std::string> classes() const = 0;
  virtual std::size_t size() const = 0;
  virtual int label(std::size_t i) const = 0;
  // The decoded image, RGB, CV_8UC3, any size. Throws tlr::DataError naming the file when
  // unreadable. Must be safe to call from several threads at once.
  virtual cv::Mat image(std::size_t i) const = 0;
  // The image for a reader that shrinks it to at_least.width × at_least.height next (the runner
  // asks with the data.input size, then resizes, caches and augments at that size). The dataset may
  // return a smaller image than image(i), e.g. a JPEG decoded at 1/2, 1/4 or 1/8 scale by libjpeg,
  // but never one narrower or shorter than `at_least` (as displayed, after any EXIF rotation)
  // unless image(i) itself is; an empty `at_least` asks for image(i). The default returns image(i),
  // always correct: override it only when the format decodes faster at a lower size. Its pixels
  // may then differ slightly from image(i) shrunk the same way, so fingerprint() must change when
  // the reduced-decode rule does. Same errors and thread safety as image(i).
  virtual cv::Mat image_at_least(std::size_t i, const cv::Size& at_least) const;
  // A stable identity for sample i (a path relative to the root, or "file#index"); recorded with
  // every run so a split can be listed and replayed.
  virtual std::string id(std::size_t i) const = 0;
  // "train", "val" or "test" when the data ships ready splits, "" otherwise.
  virtual std::string subset(std::size_t i) const;
  // Changes whenever the content may have changed (file list, sizes, mtimes, parameters, and the
  // rule image_at_least() decodes by).
  virtual std::string fingerprint() const = 0;
};

}  // namespace tlr
