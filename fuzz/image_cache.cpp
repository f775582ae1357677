// Fuzz target: the image cache file of SplitImages (engine/data/split_images.h), read by
// SplitImages::load() for a fixed split (a fake dataset of 4 images, 3 channels, 2 × 3 pixels;
// the cache key is the one of that split, so the seeds written by the project's own writer carry
// it). Each input is tried as is and once more with the two trailing checksums recomputed (with
// tlr::image_cache_checksum), so that mutations reach what follows the checksum test. A bad
// file must be rebuilt, not crash.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

#include "engine/data/split_images.h"
#include "fuzz_support.h"
#include "tlr/dataset.h"
#include "tlr/error.h"

namespace {

namespace fs = std::filesystem;

constexpr int kChannels = 3, kHeight = 2, kWidth = 3;
const std::vector<std::size_t> kIndices = {0, 1, 2, 3};

// Images 0..2 decode (4 × 5, a flat colour each), image 3 is a bad file.
class FakeImages final : public tlr::Dataset {
 public:
  std::vector<std::string> classes() const override { return {"a", "b"}; }
  std::size_t size() const override { return 4; }
  int label(std::size_t i) const override { return static_cast<int>(i % 2); }
  cv::Mat image(std::size_t i) const override {
    if (i >= 3) throw tlr::DataError("img" + std::to_string(i) + ".png", "cannot decode image");
    return cv::Mat(4, 5, CV_8UC3, cv::Scalar(40.0 * i, 20, 10));
  }
  std::string id(std::size_t i) const override { return "img" + std::to_string(i) + ".png"; }
  std::string fingerprint() const override { return "fuzz-images"; }
};

void load_from(const fs::path& cache_dir, tlr::OnBadImage on_bad) {
  static const FakeImages dataset;
  tlr::SplitImagesOptions options;
  options.cache_dir = cache_dir.string();
  options.on_bad_image = on_bad;
  try {
    const auto images =
        tlr::SplitImages::load(dataset, kIndices, kChannels, kHeight, kWidth, options);
    for (std::size_t k = 0; k < images->size(); ++k) {
      const cv::Mat image = images->image(k);
      (void)cv::sum(image);
      (void)images->dataset_index(k);
    }
    for (const auto& bad : images->bad_images()) (void)bad.message.size();
    tlr::fuzz::note(std::string(images->from_disk() ? "read: " : "rebuilt: ") +
                    std::to_string(images->size()) + " images " + images->cache_problem());
  } catch (const tlr::Error& e) {
    tlr::fuzz::note(e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* out = tlr::fuzz::seed_dir()) {
    const fs::path dir = tlr::fuzz::scratch_dir() / "seeds";
    load_from(dir, tlr::OnBadImage::skip);
    fs::create_directories(out);
    for (const auto& entry : fs::directory_iterator(dir / "images")) {
      fs::copy_file(entry.path(), fs::path(out) / "valid.bin",
                    fs::copy_options::overwrite_existing);
    }
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path cache_dir = tlr::fuzz::scratch_dir() / "cache";
  static const std::string key =
      tlr::SplitImages::cache_key("fuzz-images", kIndices, kChannels, kHeight, kWidth);
  const fs::path file = cache_dir / "images" / (key + ".bin");
  fs::create_directories(file.parent_path());
  tlr::fuzz::write_file(file, data, size);
  load_from(cache_dir, tlr::OnBadImage::skip);

  // The second try: magic (8), header size (8), header, pixels, two checksums (16).
  if (size < 32) return 0;
  std::uint64_t header_size = 0;
  std::memcpy(&header_size, data + 8, 8);
  if (header_size > size - 32) return 0;
  std::vector<std::uint8_t> fixed(data, data + size);
  const std::uint64_t sums[2] = {
      tlr::image_cache_checksum(fixed.data() + 16, header_size),
      tlr::image_cache_checksum(fixed.data() + 16 + header_size, size - 32 - header_size)};
  if (std::memcmp(fixed.data() + size - 16, sums, 16) == 0) return 0;
  std::memcpy(fixed.data() + size - 16, sums, 16);
  tlr::fuzz::write_file(file, fixed.data(), fixed.size());
  load_from(cache_dir, tlr::OnBadImage::fail);
  return 0;
}
