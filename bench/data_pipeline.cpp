// Images per second of the data pipeline the runner runs, on realistic photos: N synthetic
// 500 × 375 JPEGs (gradients, noise, shapes; quality 90) in an image_folder layout (cat/, dog/),
// read by the bundled image_folder plugin and augmented by the bundled keras_image plugin (the
// cats_vs_dogs_vgg16.yaml settings: rotation 50, shifts 0.2, shear 0.2, zoom 0.3, horizontal flip),
// both loaded as the runner loads them, through the runner's loader (SplitImages, then
// ImageBatches: float C × H × W batches of 30) at 150 × 150 with T threads (OpenCV's own pool set
// to 1 thread, so T is all the parallelism, as T DataLoader workers are on the Python side).
//
//   bench_data_pipeline [--images N] [--threads T] [--dir PATH] [--keep]
//
// Prints (bench/run.sh reads the *_per_s lines):
//   stage_ms ...         one thread, milliseconds per image of each stage
//   cold_images_per_s    the first epoch of a run: the split decoded with
//                        Dataset::image_at_least(150 × 150) (image_folder decodes each JPEG at
//                        1/2 scale with libjpeg's DCT scaling, 250 × 188, still >= 150 × 150),
//                        area-shrunk to 150 × 150, the image cache file written, then one
//                        augmented epoch of batches. Every image decoded, resized and augmented
//                        once: the work a torchvision pipeline does every epoch.
//   cold_full_decode_images_per_s  the same through a dataset that ignores the size hint (the
//                        SDK's default image_at_least: a full-size decode)
//   epoch_images_per_s   an augmented epoch from the decoded split (every epoch after the first)
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/config/component_params.h"
#include "core/plugins/loader.h"
#include "engine/data/image_batches.h"
#include "engine/data/split_images.h"
#include "engine/util/cpu_allocator.h"
#include "tlr/error.h"
#include "tlr/params.h"
#include "tlr/registry.h"

namespace {

namespace fs = std::filesystem;

constexpr int kSide = 150;

constexpr const char* kCatsVsDogsAugmentation =
    R"({"rotation_range": 50, "width_shift_range": 0.2, "height_shift_range": 0.2,
        "shear_range": 0.2, "zoom_range": 0.3, "horizontal_flip": true, "fill_mode": "nearest"})";

// A photo-like picture: two-axis colour gradient, filled ellipses and rectangles, sensor noise.
cv::Mat synthetic_photo(int index) {
  cv::RNG rng(1000 + index);
  cv::Mat img(375, 500, CV_8UC3);
  const cv::Vec3f a(rng.uniform(0.f, 255.f), rng.uniform(0.f, 255.f), rng.uniform(0.f, 255.f));
  const cv::Vec3f b(rng.uniform(0.f, 255.f), rng.uniform(0.f, 255.f), rng.uniform(0.f, 255.f));
  for (int r = 0; r < img.rows; ++r) {
    for (int c = 0; c < img.cols; ++c) {
      const float t = 0.5f * (static_cast<float>(r) / img.rows + static_cast<float>(c) / img.cols);
      const cv::Vec3f v = a * (1 - t) + b * t;
      img.at<cv::Vec3b>(r, c) =
          cv::Vec3b(cv::saturate_cast<uchar>(v[0]), cv::saturate_cast<uchar>(v[1]),
                    cv::saturate_cast<uchar>(v[2]));
    }
  }
  for (int k = 0; k < 6; ++k) {
    const cv::Scalar colour(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256));
    const cv::Point centre(rng.uniform(0, 500), rng.uniform(0, 375));
    if (k % 2 == 0) {
      cv::ellipse(img, centre, cv::Size(rng.uniform(20, 120), rng.uniform(20, 90)),
                  rng.uniform(0, 180), 0, 360, colour, cv::FILLED, cv::LINE_AA);
    } else {
      cv::rectangle(img, cv::Rect(centre, cv::Size(rng.uniform(20, 150), rng.uniform(20, 100))),
                    colour, cv::FILLED);
    }
  }
  cv::Mat noise(img.size(), CV_16SC3);
  rng.fill(noise, cv::RNG::NORMAL, 0, 8);
  cv::Mat out;
  img.convertTo(out, CV_16SC3);
  out += noise;
  out.convertTo(img, CV_8UC3);
  cv::GaussianBlur(img, img, cv::Size(3, 3), 0.6);
  return img;
}

// A dataset that ignores the size hint: every call of Dataset::image_at_least falls back to the
// SDK's default, image(i), a full-size decode by the wrapped plugin.
class IgnoresHint final : public tlr::Dataset {
 public:
  explicit IgnoresHint(const tlr::Dataset& inner) : inner_(inner) {}
  std::vector<std::string> classes() const override { return inner_.classes(); }
  std::size_t size() const override { return inner_.size(); }
  int label(std::size_t i) const override { return inner_.label(i); }
  cv::Mat image(std::size_t i) const override { return inner_.image(i); }
  std::string id(std::size_t i) const override { return inner_.id(i); }
  std::string fingerprint() const override { return inner_.fingerprint() + "|full decode"; }

 private:
  const tlr::Dataset& inner_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

tlr::InputSpec input_150() {
  tlr::InputSpec input;
  input.height = input.width = kSide;
  input.scale = 1.0 / 255;
  return input;
}

tlr::BatchOptions batch_options(int threads) {
  tlr::BatchOptions options;  // as DataSource::batches sets them for a training split
  options.batch_size = 30;
  options.shuffle = true;
  options.seed = 1;
  options.workers = threads;
  return options;
}

// Every image of one augmented epoch; returns how many.
std::size_t drain(tlr::ImageBatches& batches, int epoch) {
  batches.start_epoch(epoch);
  torch::Tensor x, y;
  std::size_t seen = 0;
  while (batches.next(x, y)) seen += static_cast<std::size_t>(x.size(0));
  return seen;
}

// The first epoch of a run, as the runner does it: decode the split into a fresh image cache
// (file written to `cache_dir`), then one augmented epoch of batches. Returns images/s.
double cold_epoch(const tlr::Dataset& dataset, const std::vector<std::size_t>& indices,
                  const tlr::Augmenter& augmenter, int threads, const std::string& cache_dir,
                  int epoch) {
  std::error_code ec;
  fs::remove_all(cache_dir, ec);
  const auto start = std::chrono::steady_clock::now();
  tlr::SplitImagesOptions decode;
  decode.cache_dir = cache_dir;
  decode.workers = threads;
  const auto images = tlr::SplitImages::load(dataset, indices, 3, kSide, kSide, decode);
  if (images->from_disk() || images->size() != indices.size()) {
    throw std::runtime_error("the split was not decoded in full");
  }
  tlr::ImageBatches batches(dataset, indices, {}, input_150(), &augmenter, batch_options(threads),
                            images);
  const std::size_t seen = drain(batches, epoch);
  return seen / seconds_since(start);
}

// Milliseconds per image of each stage, one thread.
void print_stages(const tlr::Dataset& dataset, const tlr::Augmenter& augmenter) {
  double full = 0, hinted = 0, resize = 0, augment = 0;
  const std::size_t n = std::min<std::size_t>(dataset.size(), 100);
  for (std::size_t i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    const cv::Mat whole = dataset.image(i);
    full += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    const cv::Mat decoded = dataset.image_at_least(i, cv::Size(kSide, kSide));
    hinted += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    cv::Mat small;
    tlr::resize_to_input(decoded, small, kSide, kSide);
    resize += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::mt19937_64 rng(i);
    const cv::Mat out = augmenter.apply(small, rng);
    augment += seconds_since(t0);
  }
  const double k = 1000.0 / n;
  std::printf("stage_ms decode_full %.3f decode_hinted %.3f resize %.3f augment %.3f\n", full * k,
              hinted * k, resize * k, augment * k);
}

}  // namespace

int main(int argc, char** argv) {
  tlr::use_caching_cpu_allocator();  // as the runner does
  int images = 600;
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string dir;
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--images" && i + 1 < argc) {
      images = std::stoi(argv[++i]);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::stoi(argv[++i]);
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr, "usage: %s [--images N] [--threads T] [--dir PATH] [--keep]\n", argv[0]);
      return 2;
    }
  }
  if (dir.empty()) dir = (fs::temp_directory_path() / "tlr_bench_images").string();
  const std::string cache_dir =
      (fs::temp_directory_path() / ("tlr_bench_cache_" + std::to_string(::getpid()))).string();

  for (int i = 0; i < images; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "img%05d.jpg", i);
    const fs::path path = fs::path(dir) / (i % 2 == 0 ? "cat" : "dog") / name;
    fs::create_directories(path.parent_path());
    if (!fs::exists(path)) {
      cv::imwrite(path.string(), synthetic_photo(i), {cv::IMWRITE_JPEG_QUALITY, 90});
    }
  }
  cv::setNumThreads(1);  // parallelism comes from our threads only, as in the Python pipeline

  try {
    // The bundled plugins, loaded and checked as the runner loads them.
    tlr::Registry registry;
    tlr::PluginLoader loader(registry);
    for (const char* library :
         {"libtlr_dataset_image_folder.so", "libtlr_augmenter_keras_image.so"}) {
      if (!loader.load_file(std::string(TLR_PLUGIN_DIR) + "/" + library)) {
        std::fprintf(stderr, "%s\n", loader.problems_text().c_str());
        return 1;
      }
    }
    const tlr::Context context;
    // Params as the runner passes them: the schema's defaults filled in.
    const auto dataset = registry.make_dataset(
        "image_folder",
        tlr::config::params_with_defaults(registry, tlr::Kind::dataset, "image_folder",
                                          {{"root", dir}, {"layout", "flat"}}),
        context);
    const auto augmenter = registry.make_augmenter(
        "keras_image",
        tlr::config::params_with_defaults(registry, tlr::Kind::augmenter, "keras_image",
                                          nlohmann::json::parse(kCatsVsDogsAugmentation)),
        context);
    if (static_cast<int>(dataset->size()) != images) {
      throw std::runtime_error(dir + ": " + std::to_string(dataset->size()) + " images, expected " +
                               std::to_string(images) +
                               " (left from a run with another --images?)");
    }
    const IgnoresHint full_decode(*dataset);
    std::vector<std::size_t> indices(dataset->size());
    for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;

    print_stages(*dataset, *augmenter);
    cold_epoch(*dataset, indices, *augmenter, threads, cache_dir, 0);  // warm caches, allocator
    double cold = 0, cold_full = 0;
    for (int rep = 1; rep <= 3; ++rep) {  // alternated, so both see the same machine load
      cold = std::max(cold, cold_epoch(*dataset, indices, *augmenter, threads, cache_dir, rep));
      cold_full = std::max(cold_full,
                           cold_epoch(full_decode, indices, *augmenter, threads, cache_dir, rep));
    }

    tlr::SplitImagesOptions decode;
    decode.workers = threads;
    const auto decoded = tlr::SplitImages::load(*dataset, indices, 3, kSide, kSide, decode);
    tlr::ImageBatches batches(*dataset, indices, {}, input_150(), augmenter.get(),
                              batch_options(threads), decoded);
    double epoch_rate = 0;
    for (int epoch = 0; epoch < 3; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      const std::size_t seen = drain(batches, epoch);
      epoch_rate = std::max(epoch_rate, seen / seconds_since(start));
    }
    const cv::Mat sample = dataset->image_at_least(0, cv::Size(kSide, kSide));
    std::printf(
        "images %d threads %d (500x375 JPEG q90 decoded at %dx%d -> 150x150, keras_image as in "
        "cats_vs_dogs_vgg16.yaml; image_folder + keras_image plugins, SplitImages + "
        "ImageBatches)\n",
        images, threads, sample.cols, sample.rows);
    std::printf("cold_images_per_s %.1f\n", cold);
    std::printf("cold_full_decode_images_per_s %.1f\n", cold_full);
    std::printf("epoch_images_per_s %.1f\n", epoch_rate);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_data_pipeline: error: %s\n", e.what());
    return 1;
  }
  std::error_code ec;
  fs::remove_all(cache_dir, ec);
  if (!keep) fs::remove_all(dir, ec);
  return 0;
}
