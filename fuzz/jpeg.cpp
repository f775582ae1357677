// Fuzz target: the SDK's image reader. jpeg::decode (libjpeg behind it, the scale choice, the
// EXIF orientation) on the bytes in memory at three size hints, exif_orientation on the bytes as
// if they were an APP1 segment, and read_image_rgb on them as a file. A bad image must be a
// result that says why (decode) or a tlr::DataError (read_image_rgb), never a crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz_support.h"
#include "sdk/jpeg_decoder.h"
#include "tlr/error.h"
#include "tlr/image_file.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // The decoder's cap on an image's pixels (as OpenCV's, default 2^30) would exceed the
  // fuzzer's memory limit; both read this variable.
  setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "4194304", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const cv::Size hint : {cv::Size(), cv::Size(8, 8), cv::Size(1, 300)}) {
    const tlr::jpeg::Decoded d = tlr::jpeg::decode(data, size, hint);
    if (!d.rgb.empty() && (d.rgb.type() != CV_8UC3 || !d.error.empty())) std::abort();
    if (d.rgb.empty() && !d.four_components && d.error.empty()) std::abort();
    if (d.warnings.size() > 9) std::abort();
  }
  const int orientation = tlr::jpeg::exif_orientation(data, size);
  if (orientation < 0 || orientation > 0xFFFF) std::abort();

  const std::string path = (tlr::fuzz::scratch_dir() / "image.jpg").string();
  tlr::fuzz::write_file(path, data, size);
  try {
    tlr::ImageWarnings warnings;
    const cv::Mat rgb = tlr::read_image_rgb(path, cv::Size(8, 8));
    if (rgb.type() != CV_8UC3 || rgb.empty() || rgb.cols < 8 || rgb.rows < 8) {
      // A hint never yields less than asked for unless the image itself is smaller.
      const cv::Mat full = tlr::read_image_rgb(path);
      if (full.cols >= 8 && full.rows >= 8) std::abort();
    }
    tlr::fuzz::note(std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + ", " +
                    std::to_string(warnings.lines().size()) + " warnings");
  } catch (const tlr::DataError& e) {
    tlr::fuzz::note(e.what());
  }
  return 0;
}
