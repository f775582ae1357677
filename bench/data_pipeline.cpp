// Images per second of the data pipeline on realistic photos: N synthetic 500 × 375 JPEGs
// (gradients, noise, shapes; quality 90), decoded, resized to 150 × 150, augmented with the
// seed-000 keras_image settings (rotation 50, shifts 0.2, shear 0.2, zoom 0.3, horizontal flip)
// and turned into float C × H × W, with T threads.
//
//   bench_data_pipeline [--images N] [--threads T] [--dir PATH] [--keep]
//
// Prints two lines bench/run.sh reads:
//   cold_images_per_s   decode + resize + augment + to float, every image every time (what a
//                       Python pipeline does every epoch)
//   cold_half_decode_images_per_s  the same with libjpeg's half-size decode
//   epoch_images_per_s  an ImageBatches epoch from the decoded-and-resized split (what the
//                       trainer sees after the first epoch)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/data/image_batches.h"
#include "engine/data/sampling.h"
#include "keras_image/keras_transform.h"
#include "tlr/error.h"

namespace {

namespace fs = std::filesystem;
namespace ki = tlr::keras_image;

ki::Settings seed000() {
  ki::Settings s;
  s.rotation_range = 50;
  s.width_shift_range = 0.2;
  s.height_shift_range = 0.2;
  s.shear_range = 0.2;
  s.zoom_lo = 0.7;
  s.zoom_hi = 1.3;
  s.horizontal_flip = true;
  return s;
}

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

class JpegFolder : public tlr::Dataset {
 public:
  explicit JpegFolder(std::vector<std::string> files) : files_(std::move(files)) {}
  std::vector<std::string> classes() const override { return {"cat", "dog"}; }
  std::size_t size() const override { return files_.size(); }
  int label(std::size_t i) const override { return static_cast<int>(i % 2); }
  cv::Mat image(std::size_t i) const override {
    cv::Mat bgr = cv::imread(files_[i], cv::IMREAD_COLOR);
    if (bgr.empty()) throw tlr::DataError(files_[i], "cannot decode image");
    cv::cvtColor(bgr, bgr, cv::COLOR_BGR2RGB);
    return bgr;
  }
  std::string id(std::size_t i) const override { return files_[i]; }
  std::string fingerprint() const override { return "bench:" + std::to_string(files_.size()); }

 private:
  std::vector<std::string> files_;
};

class KerasAugmenter : public tlr::Augmenter {
 public:
  cv::Mat apply(const cv::Mat& image, std::mt19937_64& rng) const override {
    return ki::apply(image, ki::draw(settings_, image.rows, image.cols, rng), settings_);
  }

 private:
  ki::Settings settings_ = seed000();
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Decode + resize + augment + float CHW for every file, `threads` threads; returns images/s.
// `reduced`: let libjpeg decode at half size (DCT scaling; still >= 150 × 150 here), as a dataset
// plugin could when it knows the input size.
double cold_pass(const std::vector<std::string>& files, int threads, std::uint64_t epoch,
                 bool reduced = false) {
  const ki::Settings settings = seed000();
  std::atomic<std::size_t> next{0};
  auto work = [&]() {
    std::vector<float> chw(3 * 150 * 150);
    for (std::size_t i = next++; i < files.size(); i = next++) {
      cv::Mat bgr = cv::imread(files[i], reduced ? cv::IMREAD_REDUCED_COLOR_2 : cv::IMREAD_COLOR);
      cv::Mat rgb, small;
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      tlr::resize_to_input(rgb, small, 150, 150);
      std::mt19937_64 rng(tlr::sample_seed(1, static_cast<std::int64_t>(epoch), i));
      const cv::Mat out = ki::apply(small, ki::draw(settings, 150, 150, rng), settings);
      for (int r = 0; r < 150; ++r) {
        const auto* row = out.ptr<cv::Vec3b>(r);
        for (int c = 0; c < 150; ++c) {
          for (int ch = 0; ch < 3; ++ch) chw[ch * 22500 + r * 150 + c] = row[c][ch] / 255.0f;
        }
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return files.size() / seconds_since(start);
}

// Milliseconds per image of each stage, one thread.
void print_stages(const std::vector<std::string>& files) {
  const ki::Settings settings = seed000();
  double decode = 0, resize = 0, augment = 0, to_float = 0;
  std::vector<float> chw(3 * 150 * 150);
  const std::size_t n = std::min<std::size_t>(files.size(), 200);
  for (std::size_t i = 0; i < n; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    cv::Mat bgr = cv::imread(files[i], cv::IMREAD_COLOR);
    cv::Mat rgb, small;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    decode += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    tlr::resize_to_input(rgb, small, 150, 150);
    resize += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    std::mt19937_64 rng(i);
    const cv::Mat out = ki::apply(small, ki::draw(settings, 150, 150, rng), settings);
    augment += seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < 150; ++r) {
      const auto* row = out.ptr<cv::Vec3b>(r);
      for (int c = 0; c < 150; ++c) {
        for (int ch = 0; ch < 3; ++ch) chw[ch * 22500 + r * 150 + c] = row[c][ch] / 255.0f;
      }
    }
    to_float += seconds_since(t0);
  }
  const double k = 1000.0 / n;
  std::printf("stage_ms decode+rgb %.3f resize %.3f augment %.3f to_float %.3f\n", decode * k,
              resize * k, augment * k, to_float * k);
}

}  // namespace

int main(int argc, char** argv) {
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
  fs::create_directories(dir);

  std::vector<std::string> files;
  for (int i = 0; i < images; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "img%05d.jpg", i);
    const std::string path = (fs::path(dir) / name).string();
    if (!fs::exists(path)) cv::imwrite(path, synthetic_photo(i), {cv::IMWRITE_JPEG_QUALITY, 90});
    files.push_back(path);
  }
  cv::setNumThreads(1);  // parallelism comes from our threads only, as in the Python pipeline

  print_stages(files);
  cold_pass(files, threads, 0);  // warm the page cache and the allocator
  double cold = 0;
  for (int rep = 1; rep <= 3; ++rep) cold = std::max(cold, cold_pass(files, threads, rep));
  double reduced = 0;
  for (int rep = 1; rep <= 3; ++rep) {
    reduced = std::max(reduced, cold_pass(files, threads, rep, true));
  }

  const JpegFolder dataset(files);
  std::vector<std::size_t> indices(files.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  tlr::InputSpec input;
  input.height = input.width = 150;
  input.scale = 1.0 / 255;
  tlr::BatchOptions options;
  options.batch_size = 30;
  options.shuffle = true;
  options.workers = threads;
  const KerasAugmenter augmenter;
  auto decode_start = std::chrono::steady_clock::now();
  tlr::ImageBatches batches(dataset, indices, {}, input, &augmenter, options);
  const double decode_seconds = seconds_since(decode_start);
  double epoch_rate = 0;
  for (int epoch = 0; epoch < 3; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    batches.start_epoch(epoch);
    torch::Tensor x, y;
    std::size_t seen = 0;
    while (batches.next(x, y)) seen += static_cast<std::size_t>(x.size(0));
    epoch_rate = std::max(epoch_rate, seen / seconds_since(start));
  }
  std::printf("images %d threads %d (500x375 JPEG q90 -> 150x150, keras_image seed-000)\n", images,
              threads);
  std::printf("cold_images_per_s %.1f\n", cold);
  std::printf("cold_half_decode_images_per_s %.1f\n", reduced);
  std::printf("split_decode_seconds %.2f\n", decode_seconds);
  std::printf("epoch_images_per_s %.1f\n", epoch_rate);
  if (!keep) fs::remove_all(dir);
  return 0;
}
