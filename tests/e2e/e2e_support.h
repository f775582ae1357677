// What the end-to-end tests share: the overrides that make an experiment file run in seconds,
// tiny data sets written on the fly, results.db checks, and a runner in the background for
// signals and crashes.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "datasets/test_files.h"
#include "e2e/runner_process.h"

extern char** environ;

namespace tlr::testing::e2e {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Running the runner

// The overrides that make any experiment file run in seconds: one epoch, one pass over a few
// images per class, one replicate, the data in `data_root`, results in `tmp`; `sets` are more --set
// overrides (random init instead of published weight files, small inputs and widths).
inline std::vector<std::string> tiny_run(const std::string& file, const TempDir& tmp,
                                         const fs::path& data_root,
                                         const std::vector<std::string>& sets,
                                         const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {
      "*.training.epochs=1",
      "*.training.steps_per_epoch=0",
      "*.data.split.per_class={train: 4, val: 2, test: 2}",
      "defaults.data.dataset.params.root=" + data_root.string(),
      // One run per model: the shipped files' replicates multiply the time, not what is tested
      // (tests/e2e/statistics_test.cpp runs the default with its replicates).
      "replicates=1",
  };
  overrides.insert(overrides.end(), sets.begin(), sets.end());
  std::vector<std::string> args = {"experiments/" + file};
  for (const auto& set : overrides) args.insert(args.end(), {"--set", set});
  args.insert(args.end(), {"--db", (tmp / "results.db").string(), "--results",
                           (tmp / "results").string(), "--threads", "2", "--quiet"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// ---------------------------------------------------------------------------------------------
// Tiny data sets, with class-dependent content (a coloured bar whose colour and place follow the
// class) over per-sample noise.

inline cv::Scalar class_colour(int label) {
  static const cv::Scalar kColours[] = {
      {230, 40, 40},  {40, 230, 40},   {40, 40, 230},  {230, 230, 40}, {230, 40, 230},
      {40, 230, 230}, {250, 250, 250}, {120, 60, 200}, {60, 200, 120}, {200, 120, 60}};
  return kColours[label % 10];
}

inline cv::Mat class_image(int label, int sample, int width, int height) {
  cv::RNG rng(static_cast<std::uint64_t>(1000 * label + sample + 1));
  cv::Mat image(height, width, CV_8UC3);
  rng.fill(image, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(90));
  const int bar = std::max(2, height / 4);
  const int top = (label * bar + sample) % std::max(1, height - bar);
  cv::rectangle(image, cv::Rect(0, top, width, bar), class_colour(label), cv::FILLED);
  return image;
}

// Damages a JPEG written by OpenCV the way libjpeg repairs: three stray bytes after its JFIF APP0
// segment. Decoding it warns "Corrupt JPEG data: 3 extraneous bytes before marker 0xdb" (the
// quantisation tables that follow); the pixels are unchanged. Returns that warning's text.
inline std::string add_stray_bytes_to_jpeg(const fs::path& path) {
  std::vector<unsigned char> bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (bytes.size() < 6 || bytes[2] != 0xFF || bytes[3] != 0xE0) {
    throw std::runtime_error(path.string() + ": not a JPEG starting with JFIF's APP0");
  }
  const std::size_t app0_end = 4 + (static_cast<std::size_t>(bytes[4]) << 8 | bytes[5]);
  bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(app0_end), {0x01, 0x02, 0x03});
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return "corrupt JPEG data: 3 extraneous bytes before marker 0xdb";
}

inline void write_image(const fs::path& path, int label, int sample, int width = 40,
                        int height = 36) {
  fs::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), class_image(label, sample, width, height))) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

// Kaggle dogs-vs-cats style: <dir>/cat.N.jpg, <dir>/dog.N.png (both formats on purpose).
inline void write_cats_and_dogs(const fs::path& dir, int per_class) {
  for (int i = 0; i < per_class; ++i) {
    write_image(dir / ("cat." + std::to_string(i) + ".jpg"), 0, i);
    write_image(dir / ("dog." + std::to_string(i) + ".png"), 1, i);
  }
}

// torchvision ImageFolder style: <dir>/<subset>/<class>/<n>.jpg.
inline void write_image_folder(const fs::path& dir, const std::vector<std::string>& subsets,
                               const std::vector<int>& per_subset,
                               const std::vector<std::string>& classes) {
  for (std::size_t s = 0; s < subsets.size(); ++s) {
    for (std::size_t c = 0; c < classes.size(); ++c) {
      for (int i = 0; i < per_subset[s]; ++i) {
        write_image(dir / subsets[s] / classes[c] / (std::to_string(i) + ".jpg"),
                    static_cast<int>(c), i + 100 * static_cast<int>(s));
      }
    }
  }
}

// Fashion-MNIST style raw idx files: <dir>/<prefix>-images-idx3-ubyte and -labels-idx1-ubyte,
// `per_class` 28x28 images of each of the 10 classes, interleaved.
inline void write_idx(const fs::path& dir, const std::string& prefix, int per_class) {
  const int classes = 10, rows = 28, cols = 28;
  std::vector<cv::Mat> grays;
  std::vector<unsigned char> labels;
  for (int i = 0; i < per_class; ++i) {
    for (int label = 0; label < classes; ++label) {
      cv::Mat gray;
      cv::cvtColor(class_image(label, i, cols, rows), gray, cv::COLOR_BGR2GRAY);
      grays.push_back(gray);
      labels.push_back(static_cast<unsigned char>(label));
    }
  }
  write_bytes(
      dir / (prefix + "-images-idx3-ubyte"),
      tlr::testing::idx_images(static_cast<std::uint32_t>(grays.size()), rows, cols,
                               [&](int k, int y, int x) { return grays[k].at<uchar>(y, x); }));
  write_bytes(dir / (prefix + "-labels-idx1-ubyte"), tlr::testing::idx_labels(labels));
}

// CIFAR-10 binary records (label byte, then the 32x32 R, G and B planes), `per_class` records
// of each of the 10 classes per file.
inline void write_cifar_batch(const fs::path& path, int per_class, int file_index) {
  std::string bytes;
  for (int i = 0; i < per_class; ++i) {
    for (int label = 0; label < 10; ++label) {
      const cv::Mat bgr = class_image(label, i + 50 * file_index, 32, 32);
      bytes += static_cast<char>(label);
      for (int channel : {2, 1, 0}) {
        for (int y = 0; y < 32; ++y) {
          for (int x = 0; x < 32; ++x) bytes += static_cast<char>(bgr.at<cv::Vec3b>(y, x)[channel]);
        }
      }
    }
  }
  write_text(path, bytes);
}

// ---------------------------------------------------------------------------------------------
// results.db checks

// Every model of `experiment` ran, in this order, and completed with epochs and test metrics.
inline void expect_every_run_completed(const fs::path& db, const std::string& experiment,
                                       const std::vector<std::string>& models) {
  tlr::Store store = tlr::Store::open(db.string());
  const std::vector<tlr::RunSummary> runs = store.summaries(experiment);
  std::vector<std::string> names;
  names.reserve(runs.size());
  for (const auto& run : runs) names.push_back(run.model);
  EXPECT_EQ(names, models);
  for (const auto& run : runs) {
    SCOPED_TRACE("model " + run.model);
    EXPECT_EQ(tlr::to_string(run.status), std::string("completed")) << run.error;
    EXPECT_FALSE(store.epochs(run.run_id).empty());
    ASSERT_TRUE(run.test_accuracy.has_value());
    EXPECT_GE(*run.test_accuracy, 0.0);
    EXPECT_LE(*run.test_accuracy, 1.0);
    EXPECT_TRUE(run.test_f1.has_value());
    bool has_samples = false;
    for (const auto& [name, value] : store.metrics(run.run_id, "test")) {
      if (name == "samples") has_samples = value > 0;
    }
    EXPECT_TRUE(has_samples);
    EXPECT_TRUE(store.confusion(run.run_id).has_value());
  }
}

inline std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// One test per experiment file

inline const std::vector<std::string> kFiveModels = {"source_pretrain", "basic_cnn",
                                                     "basic_cnn_aug",   "vgg_features",
                                                     "vgg_frozen_aug",  "vgg_fine_tune"};

inline std::vector<std::string> five_models_args(const TempDir& tmp, bool quiet) {
  std::vector<std::string> args = tiny_run("five_models.yaml", tmp, tmp / "fashion-mnist", {});
  if (!quiet) args.erase(std::find(args.begin(), args.end(), "--quiet"));
  return args;
}

inline void write_fashion_mnist(const TempDir& tmp) {
  write_idx(tmp / "fashion-mnist", "train", 6);
  write_idx(tmp / "fashion-mnist", "t10k", 2);
}

// ---------------------------------------------------------------------------------------------
// Runners in the background: signals, crashes, several at once.

// A runner started in the background (stdout and stderr to files in `dir`), for signals.
class BackgroundRunner {
 public:
  // `env`: extra NAME=VALUE environment entries (TLR_FAULT for the crash tests).
  BackgroundRunner(const std::vector<std::string>& args, const fs::path& dir,
                   const std::vector<std::string>& env = {}, const std::string& tag = "background")
      : out_(dir / (tag + "_stdout.txt")), err_(dir / (tag + "_stderr.txt")) {
    // Everything the child needs is built before fork(): after it, only exec-safe calls.
    std::vector<std::string> strings = {TLR_RUNNER};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(strings.size() + 1);
    for (auto& a : strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = env;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const std::string out = out_.string(), err = err_.string();
    pid_ = fork();
    if (pid_ == 0) {
      const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out_fd < 0 || err_fd < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
  }
  ~BackgroundRunner() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  BackgroundRunner(const BackgroundRunner&) = delete;
  BackgroundRunner& operator=(const BackgroundRunner&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signal` and waits for the process: its exit status, or minus the signal that killed
  // it (so an exit(130) is told apart from death by SIGINT).
  int stop(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  // Waits for the process to end by itself: its exit status, or minus the signal that ended it.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  std::string output() const {
    return "--- stdout\n" + read_file(out_) + "--- stderr\n" + read_file(err_);
  }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// A first column of the first row, read without the Store (which would mark stale runs), or "".
inline std::string query(const fs::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  std::string value;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(handle, 5000);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(handle, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(handle);
  return value;
}

// One scratch model that would train for a very long time, on tiny images.
inline fs::path write_endless_experiment(const TempDir& tmp) {
  write_cats_and_dogs(tmp / "train", 6);
  fs::path file = tmp / "endless.yaml";
  write_text(file,
             "experiment: endless\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: filename_labels, params: {root: train}}\n"
             "    split: {classes: [cat, dog], per_class: {train: 4, val: 1, test: 1}}\n"
             "    input: {size: [16, 16], channels: 3}\n"
             "  backbone: {plugin: basic_cnn, params: {widths: [4]}}\n"
             "  head: {plugin: dense, params: {units: [4]}}\n"
             "  training: {epochs: 1000000, batch_size: 2}\n"
             "models:\n"
             "  - {name: endless, strategy: {plugin: scratch}}\n");
  return file;
}

// Waits (up to 2 minutes) until the run has recorded `epochs` epochs.
inline bool wait_for_epochs(const fs::path& db, int epochs) {
  for (int i = 0; i < 1200; ++i) {
    const std::string n = query(db, "SELECT count(*) FROM epochs");
    if (!n.empty() && std::stoi(n) >= epochs) return true;
    usleep(100 * 1000);
  }
  return false;
}

}  // namespace tlr::testing::e2e
