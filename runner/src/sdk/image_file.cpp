#include "tlr/image_file.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "sdk/jpeg_decoder.h"
#include "tlr/error.h"

namespace tlr {
namespace {

thread_local ImageWarnings* innermost = nullptr;

// libjpeg writes "Corrupt JPEG data: ..." and "Premature end of JPEG file"; an Error's message
// is lower case. A leading acronym ("JPEG datastream contains no image") stays as it is.
std::string lower_first(std::string text) {
  if (text.size() >= 2 && std::isupper(static_cast<unsigned char>(text[0])) &&
      !std::isupper(static_cast<unsigned char>(text[1]))) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

// The whole file; false with `problem` set when it cannot be read.
bool read_bytes(const std::string& path, std::vector<std::uint8_t>* bytes, std::string* problem) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *problem = "cannot read file: " + lower_first(std::strerror(errno));
    return false;
  }
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    *problem = "cannot read file";
    return false;
  }
  return true;
}

// cv::imread, whose exceptions (an image too large, a decoder's own) mean "not decodable".
cv::Mat imread_bgr(const std::string& path, int flags) {
  try {
    return cv::imread(path, flags);
  } catch (const cv::Exception&) {
    return cv::Mat();
  }
}

// cv::imread's flag for jpeg::decode's scale rule, for the JPEGs it leaves to OpenCV.
int reduced_color_flag(const cv::Size& stored, const cv::Size& at_least) {
  const int need = std::max(at_least.width, at_least.height);
  if (at_least.empty() || need <= 0) return cv::IMREAD_COLOR;
  for (int denom : {8, 4, 2}) {
    if ((stored.width + denom - 1) / denom >= need && (stored.height + denom - 1) / denom >= need) {
      return denom == 8   ? cv::IMREAD_REDUCED_COLOR_8
             : denom == 4 ? cv::IMREAD_REDUCED_COLOR_4
                          : cv::IMREAD_REDUCED_COLOR_2;
    }
  }
  return cv::IMREAD_COLOR;
}

}  // namespace

ImageWarnings::ImageWarnings() : outer_(innermost) { innermost = this; }

ImageWarnings::~ImageWarnings() { innermost = outer_; }

void warn_image(const std::string& path, const std::string& problem) {
  std::string line = path + ": warning: " + problem;
  if (innermost != nullptr) {
    innermost->lines_.push_back(std::move(line));
  } else {
    std::cerr << line << "\n";
  }
}

cv::Mat read_image_rgb(const std::string& path, const cv::Size& at_least) {
  std::vector<std::uint8_t> bytes;
  std::string problem;
  if (!read_bytes(path, &bytes, &problem)) throw DataError(path, problem);
  cv::Mat bgr;
  if (jpeg::is_jpeg(bytes.data(), bytes.size())) {
    jpeg::Decoded decoded = jpeg::decode(bytes.data(), bytes.size(), at_least);
    if (!decoded.four_components) {
      if (decoded.rgb.empty()) {
        throw DataError(path, "cannot decode image: " + lower_first(decoded.error));
      }
      if (!decoded.warnings.empty()) {
        // A damaged scan gives several distinct messages; three say enough.
        constexpr std::size_t kShown = 3;
        std::string text;
        for (std::size_t i = 0; i < decoded.warnings.size() && i < kShown; ++i) {
          text += (i == 0 ? "" : "; ") + lower_first(decoded.warnings[i]);
        }
        if (decoded.warnings.size() > kShown) {
          text += " (and " + std::to_string(decoded.warnings.size() - kShown) + " more)";
        }
        warn_image(path, text + "; decoded anyway");
      }
      return std::move(decoded.rgb);
    }
    // CMYK and YCCK: OpenCV's conversion to BGR, at the same scale rule.
    bgr = imread_bgr(path, reduced_color_flag(decoded.stored, at_least));
  }
  if (bgr.empty() || bgr.cols < at_least.width || bgr.rows < at_least.height) {
    bgr = imread_bgr(path, cv::IMREAD_COLOR);
  }
  if (bgr.empty()) throw DataError(path, "cannot decode image");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace tlr
