#include "engine/data/split_images.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <thread>

#include "engine/util/fault_point.h"
#include "engine/util/sha256.h"
#include "engine/util/temporary_files.h"
#include "tlr/error.h"
#include "tlr/image_file.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'T', 'L', 'R', 'I', 'M', 'G', '0', '1'};
// v2: decoded with Dataset::image_at_least(input size), which may hand over a reduced JPEG decode.
// v3: the header lists the decode warnings of the images kept.
constexpr const char* kFormat =
    "tlr split images v3: image_at_least(input size), uint8 HWC, area shrink, linear grow";

// The header of a cache file, written and read field by field (little-endian host assumed, as the
// file never leaves the machine).
class Blob {
 public:
  void u64(std::uint64_t v) { append(&v, 8); }
  void text(const std::string& s) {
    u64(s.size());
    append(s.data(), s.size());
  }
  void append(const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
  std::vector<std::uint8_t> bytes;
};

class BlobReader {
 public:
  explicit BlobReader(const std::vector<std::uint8_t>& bytes) : bytes_(bytes) {}
  bool u64(std::uint64_t* v) {
    if (pos_ + 8 > bytes_.size()) return false;
    std::memcpy(v, bytes_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool text(std::string* s) {
    std::uint64_t n;
    if (!u64(&n) || n > bytes_.size() - pos_) return false;
    s->assign(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == bytes_.size(); }

 private:
  const std::vector<std::uint8_t>& bytes_;
  std::size_t pos_ = 0;
};

// For each output index along one axis, the input range it covers and the fraction of each input
// pixel inside it (weights summing to 1).
struct AreaTaps {
  std::vector<int> first;   // first input index per output index
  std::vector<int> count;   // taps per output index
  std::vector<int> offset;  // into weight
  std::vector<float> weight;
};

AreaTaps area_taps(int in, int out) {
  AreaTaps t;
  const double scale = static_cast<double>(in) / out;
  for (int o = 0; o < out; ++o) {
    const double lo = o * scale;
    const double hi = std::min<double>(in, (o + 1) * scale);
    const int first = static_cast<int>(lo);
    const int last = std::min(in - 1, static_cast<int>(std::ceil(hi)) - 1);
    t.first.push_back(first);
    t.offset.push_back(static_cast<int>(t.weight.size()));
    int n = 0;
    for (int i = first; i <= last; ++i) {
      const double cover = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
      if (cover <= 1e-12) continue;
      if (n == 0) t.first.back() = i;
      t.weight.push_back(static_cast<float>(cover / scale));
      ++n;
    }
    t.count.push_back(n);
  }
  return t;
}

void area_shrink(const cv::Mat& src, cv::Mat& dst, int height, int width) {
  const int channels = src.channels();
  const AreaTaps tx = area_taps(src.cols, width);
  const AreaTaps ty = area_taps(src.rows, height);
  const int in_len = src.cols * channels;
  // Vertical pass first, over whole rows (contiguous, vectorised): `height` rows of float.
  std::vector<float> tmp(static_cast<std::size_t>(height) * in_len, 0.0f);
  for (int y = 0; y < height; ++y) {
    float* acc = tmp.data() + static_cast<std::size_t>(y) * in_len;
    const float* w = ty.weight.data() + ty.offset[y];
    for (int k = 0; k < ty.count[y]; ++k) {
      const std::uint8_t* row = src.ptr<std::uint8_t>(ty.first[y] + k);
      const float wk = w[k];
      for (int j = 0; j < in_len; ++j) acc[j] += wk * static_cast<float>(row[j]);
    }
  }
  // Horizontal pass on the already shorter image.
  dst.create(height, width, src.type());
  for (int y = 0; y < height; ++y) {
    const float* in = tmp.data() + static_cast<std::size_t>(y) * in_len;
    std::uint8_t* out = dst.ptr<std::uint8_t>(y);
    for (int x = 0; x < width; ++x) {
      const float* w = tx.weight.data() + tx.offset[x];
      const float* p = in + static_cast<std::ptrdiff_t>(tx.first[x]) * channels;
      for (int c = 0; c < channels; ++c) {
        float sum = 0;
        for (int k = 0; k < tx.count[x]; ++k) sum += w[k] * p[k * channels + c];
        out[x * channels + c] = cv::saturate_cast<std::uint8_t>(sum);
      }
    }
  }
}

cv::Mat to_channels(const cv::Mat& image, int channels) {
  cv::Mat img = image;
  if (img.depth() == CV_16U) {
    img.convertTo(img, CV_8U, 1.0 / 257.0);
  } else if (img.depth() != CV_8U) {
    throw std::runtime_error("unsupported pixel type (expected 8-bit)");
  }
  const int have = img.channels();
  if (have == channels) return img;
  cv::Mat out;
  if (channels == 1) {
    cv::cvtColor(img, out, have == 4 ? cv::COLOR_RGBA2GRAY : cv::COLOR_RGB2GRAY);
  } else if (have == 1) {
    cv::cvtColor(img, out, cv::COLOR_GRAY2RGB);
  } else if (have == 4) {
    cv::cvtColor(img, out, cv::COLOR_RGBA2RGB);
  } else {
    throw std::runtime_error("unsupported channel count " + std::to_string(have));
  }
  return out;
}

// Decodes dataset image `index` into `dst` (height × width × channels bytes); false and `bad`
// filled when it cannot.
bool decode_image(const Dataset& dataset, std::size_t index, int channels, int height, int width,
                  const ImageFit& fit, std::uint8_t* dst, BadImage* bad) {
  try {
    // The dataset may decode a smaller image than it stores, never one smaller than the input
    // size (or, for a centre crop, than the covering size): everything downstream (cache,
    // augmenters, batches) works at the input size.
    const double cover = fit.mode == ImageFit::Mode::center_crop ? fit.crop_fraction : 1.0;
    const cv::Mat decoded =
        dataset.image_at_least(index, cv::Size(static_cast<int>(std::ceil(width / cover - 1e-9)),
                                               static_cast<int>(std::ceil(height / cover - 1e-9))));
    if (decoded.empty()) throw std::runtime_error("empty image");
    const cv::Mat img = to_channels(decoded, channels);
    cv::Mat out(height, width, CV_8UC(channels), dst);
    resize_to_input(img(fit_region(img.cols, img.rows, height, width, fit)), out, height, width);
    if (out.data != dst) throw std::runtime_error("internal: resize reallocated");
    return true;
  } catch (const DataError& e) {
    *bad = {index, dataset.id(index), e.path(), e.what()};
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::replace(what.begin(), what.end(), '\n', ' ');
    const std::string id = dataset.id(index);
    *bad = {index, id, id, id + ": error: cannot decode image (" + what + ")"};
  }
  return false;
}

// decode_image(), with the dataset's warn_image() lines for the image in `warnings`.
bool decode_into(const Dataset& dataset, std::size_t index, int channels, int height, int width,
                 const ImageFit& fit, std::uint8_t* dst, BadImage* bad,
                 std::vector<std::string>* warnings) {
  const ImageWarnings collected;
  const bool ok = decode_image(dataset, index, channels, height, width, fit, dst, bad);
  *warnings = collected.lines();
  return ok;
}

[[noreturn]] void throw_bad(const BadImage& bad) {
  const std::string prefix = bad.path + ": error: ";
  const std::string problem = bad.message.compare(0, prefix.size(), prefix) == 0
                                  ? bad.message.substr(prefix.size())
                                  : bad.message;
  throw DataError(bad.path, problem);
}

}  // namespace

// Each step is a bijection of the state, so any single changed word changes the result.
std::uint64_t image_cache_checksum(const std::uint8_t* data, std::size_t size) {
  std::uint64_t h = 0x243f6a8885a308d3ULL ^ size;
  std::size_t i = 0;
  auto step = [&h](std::uint64_t w) {
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h = (h << 29) | (h >> 35);
  };
  for (; i + 8 <= size; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, data + i, 8);
    step(w);
  }
  if (i < size) {
    std::uint64_t w = 0;
    std::memcpy(&w, data + i, size - i);
    step(w);
  }
  return h;
}

void resize_to_input(const cv::Mat& src, cv::Mat& dst, int height, int width) {
  if (src.rows == height && src.cols == width) {
    src.copyTo(dst);
  } else if (width <= src.cols && height <= src.rows && src.depth() == CV_8U) {
    area_shrink(src, dst, height, width);
  } else {
    cv::resize(src, dst, cv::Size(width, height), 0, 0, cv::INTER_LINEAR);
  }
}

cv::Rect fit_region(int cols, int rows, int height, int width, const ImageFit& fit) {
  if (fit.mode == ImageFit::Mode::stretch) return {0, 0, cols, rows};
  // Scale s makes the image cover the output enlarged by 1 / crop_fraction; the output then
  // covers width / s × height / s source pixels around the centre.
  const double s = std::max(static_cast<double>(width) / cols, static_cast<double>(height) / rows) /
                   fit.crop_fraction;
  const int w = std::clamp(static_cast<int>(std::lround(width / s)), 1, cols);
  const int h = std::clamp(static_cast<int>(std::lround(height / s)), 1, rows);
  return {static_cast<int>(std::lround((cols - w) / 2.0)),
          static_cast<int>(std::lround((rows - h) / 2.0)), w, h};
}

OnBadImage on_bad_image_from(const std::string& name) {
  if (name == "skip") return OnBadImage::skip;
  if (name == "fail") return OnBadImage::fail;
  throw Error("data.on_bad_image: error: '" + name + "' is not one of skip, fail");
}

std::string SplitImages::cache_key(const std::string& dataset_fingerprint,
                                   const std::vector<std::size_t>& indices, int channels,
                                   int height, int width, const ImageFit& fit) {
  Sha256 hash;
  Blob blob;
  blob.text(kFormat);
  blob.text(dataset_fingerprint);
  blob.u64(static_cast<std::uint64_t>(channels));
  blob.u64(static_cast<std::uint64_t>(height));
  blob.u64(static_cast<std::uint64_t>(width));
  blob.u64(indices.size());
  if (fit.mode == ImageFit::Mode::center_crop) {
    std::ostringstream text;
    text.precision(17);
    text << "center_crop " << fit.crop_fraction;
    blob.text(text.str());
  }
  hash.update(blob.bytes.data(), blob.bytes.size());
  for (std::size_t i : indices) {
    const std::uint64_t v = i;
    hash.update(&v, 8);
  }
  return hash.hex_digest();
}

cv::Mat SplitImages::image(std::size_t k) const {
  auto* data = const_cast<std::uint8_t*>(pixels_.data() + k * image_bytes());
  return cv::Mat(height_, width_, CV_8UC(channels_), data);
}

std::shared_ptr<const SplitImages> SplitImages::load(const Dataset& dataset,
                                                     const std::vector<std::size_t>& indices,
                                                     int channels, int height, int width,
                                                     const SplitImagesOptions& options) {
  if (channels != 1 && channels != 3) throw Error("data.input: error: channels must be 1 or 3");
  if (height < 1 || width < 1) throw Error("data.input: error: size must be positive");
  std::shared_ptr<SplitImages> out(new SplitImages());
  out->channels_ = channels;
  out->height_ = height;
  out->width_ = width;
  out->key_ = cache_key(dataset.fingerprint(), indices, channels, height, width, options.fit);
  if (!options.cache_dir.empty()) {
    out->cache_path_ = (fs::path(options.cache_dir) / "images" / (out->key_ + ".bin")).string();
    if (out->read_file(out->cache_path_, indices.size())) {
      out->from_disk_ = true;
      if (options.on_bad_image == OnBadImage::fail && !out->bad_.empty()) throw_bad(out->bad_[0]);
      return out;
    }
  }

  const std::size_t n = indices.size();
  const std::size_t bytes = out->image_bytes();
  out->pixels_.resize(n * bytes);
  std::vector<char> ok(n, 0);
  std::vector<BadImage> bad(n);
  std::vector<std::vector<std::string>> warned(n);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  auto work = [&]() {
    for (;;) {
      if (stop.load()) return;
      const std::size_t k = next.fetch_add(1);
      if (k >= n) return;
      ok[k] = decode_into(dataset, indices[k], channels, height, width, options.fit,
                          out->pixels_.data() + k * bytes, &bad[k], &warned[k]);
      if (!ok[k] && options.on_bad_image == OnBadImage::fail) stop.store(true);
    }
  };
  const int threads = std::max(1, std::min<int>(options.workers, static_cast<int>(n)));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();

  // Keep the images in index-list order, dropping the bad ones.
  std::size_t kept = 0;
  for (std::size_t k = 0; k < n; ++k) {
    if (ok[k]) {
      if (kept != k) {
        std::memmove(out->pixels_.data() + kept * bytes, out->pixels_.data() + k * bytes, bytes);
      }
      out->dataset_index_.push_back(indices[k]);
      for (std::string& line : warned[k]) {
        out->warnings_.push_back({indices[k], dataset.id(indices[k]), std::move(line)});
      }
      ++kept;
    } else if (!bad[k].message.empty()) {  // empty: not reached after a failure
      out->bad_.push_back(std::move(bad[k]));
    }
  }
  if (options.on_bad_image == OnBadImage::fail && !out->bad_.empty()) throw_bad(out->bad_[0]);
  out->pixels_.resize(kept * bytes);
  out->pixels_.shrink_to_fit();
  if (!out->cache_path_.empty()) out->write_file(out->cache_path_);
  return out;
}

bool SplitImages::read_file(const std::string& path, std::size_t requested) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return false;
  const std::uintmax_t file_size = fs::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  char magic[8];
  std::uint64_t header_size = 0;
  if (ec || !in.read(magic, 8) || std::memcmp(magic, kMagic, 8) != 0 ||
      !in.read(reinterpret_cast<char*>(&header_size), 8) || header_size > (1ULL << 32) ||
      header_size + 32 > file_size) {
    cache_problem_ = path + ": warning: not a valid image cache file; rebuilding it";
    return false;
  }
  std::vector<std::uint8_t> header(header_size);
  in.read(reinterpret_cast<char*>(header.data()), static_cast<std::streamsize>(header_size));
  BlobReader r(header);
  std::string key;
  std::uint64_t c = 0, h = 0, w = 0, count = 0, kept = 0, bad_count = 0, warning_count = 0;
  bool good = in.good() && r.text(&key) && key == key_ && r.u64(&c) && r.u64(&h) && r.u64(&w) &&
              c == static_cast<std::uint64_t>(channels_) &&
              h == static_cast<std::uint64_t>(height_) && w == static_cast<std::uint64_t>(width_) &&
              r.u64(&count) && count == requested && r.u64(&kept) && r.u64(&bad_count) &&
              kept + bad_count == count;
  std::vector<std::size_t> index;
  std::vector<BadImage> bad;
  for (std::uint64_t k = 0; good && k < kept; ++k) {
    std::uint64_t v = 0;
    good = r.u64(&v);
    index.push_back(v);
  }
  for (std::uint64_t k = 0; good && k < bad_count; ++k) {
    BadImage b;
    std::uint64_t v = 0;
    good = r.u64(&v) && r.text(&b.id) && r.text(&b.path) && r.text(&b.message);
    b.index = v;
    bad.push_back(std::move(b));
  }
  std::vector<ImageWarning> warnings;
  good = good && r.u64(&warning_count) && warning_count <= header_size;
  for (std::uint64_t k = 0; good && k < warning_count; ++k) {
    ImageWarning warning;
    std::uint64_t v = 0;
    good = r.u64(&v) && r.text(&warning.id) && r.text(&warning.message);
    warning.index = v;
    warnings.push_back(std::move(warning));
  }
  good = good && r.done() && 16 + header_size + kept * image_bytes() + 16 == file_size;
  if (good) {
    pixels_.resize(kept * image_bytes());
    std::uint64_t sums[2];
    in.read(reinterpret_cast<char*>(pixels_.data()), static_cast<std::streamsize>(pixels_.size()));
    in.read(reinterpret_cast<char*>(sums), 16);
    good = in.good() && sums[0] == image_cache_checksum(header.data(), header.size()) &&
           sums[1] == image_cache_checksum(pixels_.data(), pixels_.size());
  }
  if (!good) {
    pixels_.clear();
    pixels_.shrink_to_fit();
    cache_problem_ = path + ": warning: image cache file is truncated or corrupt; rebuilding it";
    return false;
  }
  dataset_index_ = std::move(index);
  bad_ = std::move(bad);
  warnings_ = std::move(warnings);
  return true;
}

void SplitImages::write_file(const std::string& path) {
  Blob header;
  header.text(key_);
  header.u64(static_cast<std::uint64_t>(channels_));
  header.u64(static_cast<std::uint64_t>(height_));
  header.u64(static_cast<std::uint64_t>(width_));
  header.u64(dataset_index_.size() + bad_.size());
  header.u64(dataset_index_.size());
  header.u64(bad_.size());
  for (std::size_t i : dataset_index_) header.u64(i);
  for (const BadImage& b : bad_) {
    header.u64(b.index);
    header.text(b.id);
    header.text(b.path);
    header.text(b.message);
  }
  header.u64(warnings_.size());
  for (const ImageWarning& warning : warnings_) {
    header.u64(warning.index);
    header.text(warning.id);
    header.text(warning.message);
  }
  const std::uint64_t header_size = header.bytes.size();
  const std::uint64_t sums[2] = {image_cache_checksum(header.bytes.data(), header.bytes.size()),
                                 image_cache_checksum(pixels_.data(), pixels_.size())};

  // A unique temporary name in the same folder, renamed into place when complete: a crash leaves
  // at worst a stray temporary file (removed by the next run), never a half-written cache file
  // under the real name.
  const std::string tmp = temporary_name(path);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(kMagic, 8);
    out.write(reinterpret_cast<const char*>(&header_size), 8);
    out.write(reinterpret_cast<const char*>(header.bytes.data()),
              static_cast<std::streamsize>(header_size));
    out.write(reinterpret_cast<const char*>(pixels_.data()),
              static_cast<std::streamsize>(pixels_.size()));
    out.write(reinterpret_cast<const char*>(sums), 16);
    out.flush();
    if (!out.good()) {
      out.close();
      fs::remove(tmp, ec);
      cache_problem_ = path + ": warning: cannot write the image cache file";
      return;
    }
  }
  fault_point("file_written");  // as AtomicFile::commit: between the data and the rename
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    cache_problem_ = path + ": warning: cannot write the image cache file";
  }
}

}  // namespace tlr
