// The JPEG decoder behind tlr::read_image_rgb: libjpeg called directly, so that its messages
// reach the caller (OpenCV's decoder leaves libjpeg's warnings on stderr, without the file's
// name), with the pixels and EXIF handling of cv::imread(path, cv::IMREAD_COLOR) and its
// cv::IMREAD_REDUCED_COLOR_<n> variants. Internal to the SDK; the fuzz target and tests use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

namespace tlr::jpeg {

// True when `data` starts with a JPEG's SOI marker and a marker after it (FF D8 FF), the
// signature OpenCV recognises a JPEG by.
bool is_jpeg(const std::uint8_t* data, std::size_t size);

// The EXIF orientation (1..8; 0 when absent or unreadable) of an APP1 segment's payload, read
// as OpenCV reads it: the TIFF header 6 bytes in, IFD0's first tag 0x0112, its 16-bit value.
int exif_orientation(const std::uint8_t* app1, std::size_t size);

// Turns `image` (as stored) into the image as displayed for EXIF orientation 2..8; any other
// value leaves it as it is. The same flips and transposes cv::imread applies.
void apply_orientation(int orientation, cv::Mat& image);

struct Decoded {
  cv::Mat rgb;                        // CV_8UC3, oriented; empty when not decoded
  cv::Size stored;                    // width × height in the frame header (0 × 0 if unread)
  bool four_components = false;       // CMYK or YCCK: not decoded here (cv::imread converts it)
  std::string error;                  // libjpeg's reason when rgb is empty and it failed
  std::vector<std::string> warnings;  // libjpeg's warnings, each once, in order
};

// Decodes a JPEG held in memory. With a non-empty `at_least`, at the largest DCT scale
// denominator of 8, 4 and 2 whose output sides are each at least max(at_least.width,
// at_least.height), else at full size. Never throws for bad data: the result says what happened.
Decoded decode(const std::uint8_t* data, std::size_t size, const cv::Size& at_least);

}  // namespace tlr::jpeg
