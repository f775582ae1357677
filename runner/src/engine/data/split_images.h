// The decoded-and-resized images of one split: every image decoded once, resized to the input size
// and kept in memory as uint8, persisted content-addressed so the next run reads them back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <opencv2/core/mat.hpp>
#include <string>
#include <vector>

#include "engine/data/input_spec.h"
#include "tlr/dataset.h"

namespace tlr {

enum class OnBadImage { skip, fail };

// Resizes an 8-bit image (1, 3 or 4 channels) to width × height the way the split cache does: an
// area average (each output pixel the mean of the input it covers, as cv::INTER_AREA) when both
// sides shrink, bilinear (cv::INTER_LINEAR) otherwise. The area average is separable and several
// times faster than cv::resize's INTER_AREA for non-integer factors.
void resize_to_input(const cv::Mat& src, cv::Mat& dst, int height, int width);
// The part of a cols × rows image that `fit` maps onto height × width: all of it for a stretch;
// for a centre crop, the centred height:width rectangle that becomes the output once the image is
// scaled to cover width / crop_fraction × height / crop_fraction (for a square output, the image
// whose shorter side is size / crop_fraction: torchvision's Resize + CenterCrop, up to rounding).
cv::Rect fit_region(int cols, int rows, int height, int width, const ImageFit& fit);
// "skip" or "fail"; throws tlr::Error("data.on_bad_image: error: ...") otherwise.
OnBadImage on_bad_image_from(const std::string& name);

// An image the loader could not use.
struct BadImage {
  std::size_t index = 0;  // into the Dataset
  std::string id;         // Dataset::id
  std::string path;       // DataError::path, or the id when the dataset threw something else
  std::string message;    // one line, "<path>: error: <problem>"
};

// An image kept although its decoder reported a problem (corrupt JPEG data libjpeg repaired).
struct ImageWarning {
  std::size_t index = 0;  // into the Dataset
  std::string id;         // Dataset::id
  std::string message;    // one line, "<path>: warning: <problem>"
};

struct SplitImagesOptions {
  // Folder of the content-addressed cache (results/cache); the file is
  // <cache_dir>/images/<key>.bin. Empty: memory only.
  std::string cache_dir;
  int workers = 1;  // decoding threads
  OnBadImage on_bad_image = OnBadImage::skip;
  ImageFit fit;  // stretch the whole image, or scale and cut out the centre
};

class SplitImages {
 public:
  // Decodes dataset images `indices` (in that order) with Dataset::image_at_least(i, width ×
  // height, or width × height / crop_fraction for a centre crop), converts them to `channels` (1:
  // grayscale with OpenCV's weights, 3: RGB), cuts out the centre when options.fit says so (see
  // fit_region) and resizes them with resize_to_input() (area average when both sides shrink,
  // bilinear otherwise). Reads
  // the cache file instead when a valid one exists (a truncated or corrupt file is ignored and
  // rewritten) and writes it otherwise, to a temporary file renamed into place. An image that
  // cannot be decoded is skipped and listed in bad_images(), or, with OnBadImage::fail, throws
  // tlr::DataError naming its path (also when the cache file records it). The tlr::warn_image()
  // lines of the images kept are listed in warnings() (and kept in the cache file with them).
  static std::shared_ptr<const SplitImages> load(const Dataset& dataset,
                                                 const std::vector<std::size_t>& indices,
                                                 int channels, int height, int width,
                                                 const SplitImagesOptions& options);

  // sha256 of the format version (which names the decode call), the dataset fingerprint (which
  // names the dataset's reduced-decode rule), the index list, the size and a centre crop's
  // fraction (a stretch adds nothing, so those keys are unchanged since v2).
  static std::string cache_key(const std::string& dataset_fingerprint,
                               const std::vector<std::size_t>& indices, int channels, int height,
                               int width, const ImageFit& fit = {});

  std::size_t size() const { return dataset_index_.size(); }  // images kept
  int channels() const { return channels_; }
  int height() const { return height_; }
  int width() const { return width_; }
  // Image k (0 <= k < size()), height × width, CV_8UC1 or CV_8UC3 (RGB): a read-only view of the
  // cache's memory, valid while this object lives.
  cv::Mat image(std::size_t k) const;
  std::size_t dataset_index(std::size_t k) const { return dataset_index_[k]; }
  const std::vector<BadImage>& bad_images() const { return bad_; }
  const std::vector<ImageWarning>& warnings() const { return warnings_; }
  const std::string& key() const { return key_; }
  // The cache file ("" without a cache dir), whether it was read rather than built, and why it
  // could not be read or written ("" when all went well; the images are valid either way).
  const std::string& cache_path() const { return cache_path_; }
  bool from_disk() const { return from_disk_; }
  const std::string& cache_problem() const { return cache_problem_; }

 private:
  SplitImages() = default;
  bool read_file(const std::string& path, std::size_t requested);
  void write_file(const std::string& path);
  std::size_t image_bytes() const {
    return static_cast<std::size_t>(channels_) * static_cast<std::size_t>(height_) *
           static_cast<std::size_t>(width_);
  }

  int channels_ = 3;
  int height_ = 0;
  int width_ = 0;
  std::vector<std::size_t> dataset_index_;
  std::vector<std::uint8_t> pixels_;  // size() × height × width × channels
  std::vector<BadImage> bad_;
  std::vector<ImageWarning> warnings_;  // in index-list order
  std::string key_;
  std::string cache_path_;
  bool from_disk_ = false;
  std::string cache_problem_;
};

// The 64-bit checksum the image cache file keeps of its header and of its pixels: whole 8-byte
// words, the tail zero-padded (not cryptographic: it catches damage, not tampering). Public so
// that the fuzz target can repair the checksums of a mutated file and reach what follows them.
std::uint64_t image_cache_checksum(const std::uint8_t* data, std::size_t size);

}  // namespace tlr
