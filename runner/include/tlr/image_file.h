// Reading an image file the way the bundled image datasets do, for dataset plugins of photo
// folders, and the warnings of images that were decoded despite a problem.
#pragma once

#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

// Decodes an image file to RGB CV_8UC3 with the pixels of cv::imread(path, cv::IMREAD_COLOR)
// (EXIF orientation applied, grayscale and RGBA turned into three channels), BGR swapped to RGB.
//
// A JPEG is decoded by libjpeg directly, which locates its messages: corrupt data libjpeg
// repairs (extraneous bytes, a truncated file, which it fills with grey) is a warn_image() of
// `path`, and an undecodable file throws tlr::DataError(path, "cannot decode image: <libjpeg's
// reason>"). Other formats go through cv::imread; one it cannot decode throws
// DataError(path, "cannot decode image").
//
// With a non-empty `at_least` (Dataset::image_at_least's hint) a JPEG is decoded at the smallest
// of libjpeg's 1/8, 1/4 and 1/2 scales whose sides, ceil(side / scale), are each at least the
// longer side of `at_least` (so the image covers it whichever way the EXIF orientation turns
// it), or at full size: fewer inverse-DCT outputs and a smaller colour conversion for photos at
// least twice the input size. The pixels are cv::IMREAD_REDUCED_COLOR_<scale>'s. Other formats
// ignore the hint.
//
// Thread-safe: decodes share no state.
TLR_API cv::Mat read_image_rgb(const std::string& path, const cv::Size& at_least = cv::Size());

// Reports a problem with an image that was still decoded: to the innermost ImageWarnings alive
// on the calling thread, or, when there is none, as the line "<path>: warning: <problem>" on
// stderr. `problem` is lower case without a trailing period, as an Error's message is.
TLR_API void warn_image(const std::string& path, const std::string& problem);

// Collects the warn_image() calls of the thread that creates it while it lives, so that the
// runner can print and cache them with the image they belong to. Scopes nest: the innermost
// collects. Not copyable or movable; create and destroy it on the same thread.
class TLR_API ImageWarnings {
 public:
  ImageWarnings();
  ~ImageWarnings();
  ImageWarnings(const ImageWarnings&) = delete;
  ImageWarnings& operator=(const ImageWarnings&) = delete;

  // "<path>: warning: <problem>", in the order they were reported.
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  friend TLR_API void warn_image(const std::string& path, const std::string& problem);
  std::vector<std::string> lines_;
  ImageWarnings* outer_;
};

}  // namespace tlr
