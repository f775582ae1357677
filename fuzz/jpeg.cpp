// Fuzz target: the bundled datasets' image reader (plugins/datasets/common/dataset_support.h):
// jpeg_size() (the JPEG frame header walk), jpeg_scale() and read_rgb() with and without a size
// hint (OpenCV's decoders, which apply the EXIF orientation, behind it). A bad image must be a
// tlr::DataError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "common/dataset_support.h"
#include "fuzz_support.h"
#include "tlr/error.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // OpenCV's own cap on a decoded image (default 2^30 pixels) would exceed the fuzzer's memory
  // limit; a corrupt header claiming a huge image is OpenCV's business, not this reader's.
  setenv("OPENCV_IO_MAX_IMAGE_PIXELS", "4194304", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = (tlr::fuzz::scratch_dir() / "image.jpg").string();
  tlr::fuzz::write_file(path, data, size);
  const cv::Size stored = tlr::datasets::jpeg_size(path);
  if (!stored.empty() && (stored.width <= 0 || stored.height <= 0)) std::abort();
  for (const cv::Size hint : {cv::Size(), cv::Size(8, 8), cv::Size(224, 224), cv::Size(1, 300)}) {
    const int scale = tlr::datasets::jpeg_scale(stored, hint);
    if (scale != 1 && scale != 2 && scale != 4 && scale != 8) std::abort();
  }
  try {
    const cv::Mat rgb = tlr::datasets::read_rgb(path, cv::Size(8, 8));
    if (rgb.type() != CV_8UC3 || rgb.empty()) std::abort();
    const cv::Mat full = tlr::datasets::read_rgb(path);
    if (full.type() != CV_8UC3 || full.empty()) std::abort();
    tlr::fuzz::note(std::to_string(stored.width) + "x" + std::to_string(stored.height) +
                    " stored, " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                    " hinted, " + std::to_string(full.cols) + "x" + std::to_string(full.rows));
  } catch (const tlr::DataError& e) {
    tlr::fuzz::note(e.what());
  }
  return 0;
}
