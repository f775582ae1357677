// End-to-end tests of the `runner` executable: every experiment file of experiments/ run on tiny
// data written here (a few images per class, one epoch, small inputs and widths, random init
// instead of the published weight files), then checked in results.db; and the command-line
// contract: exit codes, the compiler-style error line, reports, report.html in a browser.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "datasets/test_files.h"
#include "e2e/runner_process.h"

namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Temporary folders and running the runner

using tlr::testing::TempDir;  // TLR_TEST_KEEP=1 keeps the folders, to look at a failure
using tlr::testing::write_bytes;
using tlr::testing::write_text;

using tlr::testing::describe;
using tlr::testing::Outcome;
using tlr::testing::read_file;
using tlr::testing::run_shell;
using tlr::testing::runner;
using tlr::testing::shell_quote;

// The overrides that make any experiment file run in seconds: one epoch, one pass over a few
// images per class, the data in `data_root`, results in `tmp`; `sets` are more --set overrides
// (random init instead of published weight files, small inputs and widths).
std::vector<std::string> tiny_run(const std::string& file, const TempDir& tmp,
                                  const fs::path& data_root, const std::vector<std::string>& sets,
                                  const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {
      "*.training.epochs=1",
      "*.training.steps_per_epoch=0",
      "*.data.split.per_class={train: 4, val: 2, test: 2}",
      "defaults.data.dataset.params.root=" + data_root.string(),
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

cv::Scalar class_colour(int label) {
  static const cv::Scalar kColours[] = {
      {230, 40, 40},  {40, 230, 40},   {40, 40, 230},  {230, 230, 40}, {230, 40, 230},
      {40, 230, 230}, {250, 250, 250}, {120, 60, 200}, {60, 200, 120}, {200, 120, 60}};
  return kColours[label % 10];
}

cv::Mat class_image(int label, int sample, int width, int height) {
  cv::RNG rng(static_cast<std::uint64_t>(1000 * label + sample + 1));
  cv::Mat image(height, width, CV_8UC3);
  rng.fill(image, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(90));
  const int bar = std::max(2, height / 4);
  const int top = (label * bar + sample) % std::max(1, height - bar);
  cv::rectangle(image, cv::Rect(0, top, width, bar), class_colour(label), cv::FILLED);
  return image;
}

void write_image(const fs::path& path, int label, int sample, int width = 40, int height = 36) {
  fs::create_directories(path.parent_path());
  if (!cv::imwrite(path.string(), class_image(label, sample, width, height))) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

// Kaggle dogs-vs-cats style: <dir>/cat.N.jpg, <dir>/dog.N.png (both formats on purpose).
void write_cats_and_dogs(const fs::path& dir, int per_class) {
  for (int i = 0; i < per_class; ++i) {
    write_image(dir / ("cat." + std::to_string(i) + ".jpg"), 0, i);
    write_image(dir / ("dog." + std::to_string(i) + ".png"), 1, i);
  }
}

// torchvision ImageFolder style: <dir>/<subset>/<class>/<n>.jpg.
void write_image_folder(const fs::path& dir, const std::vector<std::string>& subsets,
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
void write_idx(const fs::path& dir, const std::string& prefix, int per_class) {
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
void write_cifar_batch(const fs::path& path, int per_class, int file_index) {
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
void expect_every_run_completed(const fs::path& db, const std::string& experiment,
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

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// ---------------------------------------------------------------------------------------------
// One test per experiment file

const std::vector<std::string> kFiveModels = {"source_pretrain", "basic_cnn",      "basic_cnn_aug",
                                              "vgg_features",    "vgg_frozen_aug", "vgg_fine_tune"};

std::vector<std::string> five_models_args(const TempDir& tmp, bool quiet) {
  std::vector<std::string> args = tiny_run("five_models.yaml", tmp, tmp / "fashion-mnist", {});
  if (!quiet) args.erase(std::find(args.begin(), args.end(), "--quiet"));
  return args;
}

void write_fashion_mnist(const TempDir& tmp) {
  write_idx(tmp / "fashion-mnist", "train", 6);
  write_idx(tmp / "fashion-mnist", "t10k", 2);
}

TEST(E2eExperiment, FiveModels) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  const Outcome o = runner(five_models_args(tmp, true), tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  expect_every_run_completed(tmp / "results.db", "five_models", kFiveModels);
  // The final table lists every model.
  for (const auto& model : kFiveModels) EXPECT_NE(o.out.find(model), std::string::npos) << o.out;
}

// The training-size matrix over five_models.yaml (by `extends:`): every target model once per
// size, the source stage once, its published weights shared by every size.
TEST(E2eExperiment, FiveModelsBySize) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  std::vector<std::string> args = {"experiments/five_models_by_size.yaml"};
  for (const std::string& set : std::vector<std::string>{
           "*.training.epochs=1", "*.data.split.per_class.val=1", "*.data.split.per_class.test=2",
           "blocks.source_data.data.split.per_class.train=4",
           "matrix.data.split.per_class.train=[2, 4]",
           "defaults.data.dataset.params.root=" + (tmp / "fashion-mnist").string()}) {
    args.insert(args.end(), {"--set", set});
  }
  args.insert(args.end(), {"--db", (tmp / "results.db").string(), "--results",
                           (tmp / "results").string(), "--threads", "2", "--quiet"});
  const Outcome o = runner(args, tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  std::vector<std::string> models = {"source_pretrain"};
  for (std::size_t m = 1; m < kFiveModels.size(); ++m) {
    for (const std::string size : {"2", "4"}) models.push_back(kFiveModels[m] + "@" + size);
  }
  expect_every_run_completed(tmp / "results.db", "five_models_by_size", models);
  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  for (const auto& run : store.summaries("five_models_by_size")) {
    if (run.model.find('@') == std::string::npos) continue;
    const std::string size = run.model.substr(run.model.find('@') + 1);
    SCOPED_TRACE(run.model);
    // 2 classes x the size's images per class.
    bool seen = false;
    for (const auto& [name, value] : store.metrics(run.run_id, "data")) {
      if (name == "samples/train") {
        EXPECT_EQ(value, 2 * std::stod(size));
        seen = true;
      }
    }
    EXPECT_TRUE(seen);
  }
}

TEST(E2eExperiment, CatsVsDogsVgg16) {
  TempDir tmp;
  write_cats_and_dogs(tmp / "train", 8);
  // 48x48: the seed's 4-block CNN (model 2) needs at least 46 pixels.
  const Outcome o = runner(tiny_run("cats_vs_dogs_vgg16.yaml", tmp, tmp / "train",
                                    {"*.data.input.size=[48, 48]", "*.backbone.weights=null",
                                     "blocks.vgg16_imagenet.backbone.params.width=0.125"}),
                           tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  expect_every_run_completed(
      tmp / "results.db", "cats_vs_dogs_vgg16",
      {"basic_cnn", "basic_cnn_aug", "vgg16_features", "vgg16_frozen_aug", "vgg16_fine_tune"});
}

TEST(E2eExperiment, Cifar10Vgg19) {
  TempDir tmp;
  for (int k = 1; k <= 5; ++k) {
    write_cifar_batch(tmp / "cifar-10-batches-bin" / ("data_batch_" + std::to_string(k) + ".bin"),
                      2, k);
  }
  write_cifar_batch(tmp / "cifar-10-batches-bin" / "test_batch.bin", 2, 0);
  // The root may be the folder of the batches or its parent.
  const Outcome o =
      runner(tiny_run("cifar10_vgg19.yaml", tmp, tmp.path(),
                      {"*.backbone.weights=null", "defaults.backbone.params.width=0.125"}),
             tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  expect_every_run_completed(tmp / "results.db", "cifar10_vgg19", {"vgg19_all_layers"});
  // Softmax over the 10 classes, with their standard names.
  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto confusion = store.confusion(store.summaries("cifar10_vgg19").at(0).run_id);
  ASSERT_TRUE(confusion.has_value());
  EXPECT_EQ(confusion->classes.size(), 10u);
  EXPECT_EQ(confusion->classes.front(), "airplane");
}

TEST(E2eExperiment, Fruit30Resnet18) {
  TempDir tmp;
  write_image_folder(tmp / "fruit30_split", {"train", "val"}, {6, 2},
                     {"apple", "banana", "cherry"});
  const Outcome o = runner(tiny_run("fruit30_resnet18.yaml", tmp, tmp / "fruit30_split",
                                    {"*.data.input.size=[32, 32]", "*.backbone.weights=null",
                                     "defaults.backbone.params.width=0.125"}),
                           tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  expect_every_run_completed(tmp / "results.db", "fruit30_resnet18",
                             {"resnet18_fc_only", "resnet18_all_layers", "resnet18_scratch"});
  // Only fc trains in the first model; every layer in the others.
  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto runs = store.summaries("fruit30_resnet18");
  ASSERT_EQ(runs.size(), 3u);
  ASSERT_TRUE(runs[0].trainable_params && runs[1].trainable_params && runs[2].trainable_params);
  EXPECT_LT(*runs[0].trainable_params, *runs[1].trainable_params);
  EXPECT_EQ(*runs[1].trainable_params, *runs[2].trainable_params);
}

TEST(E2eExperiment, MulticlassFolder) {
  TempDir tmp;
  write_image_folder(tmp / "multiclass", {"train", "validation"}, {6, 2},
                     {"ankle", "elbow", "hand", "knee", "shoulder"});
  const Outcome o = runner(tiny_run("multiclass_folder.yaml", tmp, tmp / "multiclass",
                                    {"*.data.input.size=[32, 32]", "*.backbone.weights=null",
                                     "defaults.backbone.params.width=0.125",
                                     "models.fine_tune_block5.strategy.params.warmup_epochs=1"}),
                           tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  expect_every_run_completed(tmp / "results.db", "multiclass_folder",
                             {"top_model", "fine_tune_block5"});
  // The head was warmed up before fine-tuning: two training phases.
  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto runs = store.summaries("multiclass_folder");
  ASSERT_EQ(runs.size(), 2u);
  std::vector<std::string> phases;
  for (const auto& epoch : store.epochs(runs[1].run_id)) phases.push_back(epoch.phase);
  EXPECT_EQ(phases, (std::vector<std::string>{"warmup", "fine-tune"}));
}

// Seed 003's mistake, one sigmoid unit over 5 classes, cannot run.
TEST(E2eExperiment, MulticlassFolderRefusesSigmoidOverFiveClasses) {
  TempDir tmp;
  write_image_folder(tmp / "multiclass", {"train", "validation"}, {6, 2},
                     {"ankle", "elbow", "hand", "knee", "shoulder"});
  const Outcome o =
      runner(tiny_run("multiclass_folder.yaml", tmp, tmp / "multiclass",
                      {"*.data.input.size=[32, 32]", "*.backbone.weights=null",
                       "defaults.backbone.params.width=0.125", "defaults.output=sigmoid"},
                      {"--only", "top_model"}),
             tmp.path());
  EXPECT_EQ(o.exit_code, 1) << describe(o);
  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto runs = store.summaries("multiclass_folder");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(tlr::to_string(runs[0].status), std::string("failed"));
  EXPECT_NE(runs[0].error.find("'sigmoid' needs exactly 2 classes, the data has 5"),
            std::string::npos)
      << runs[0].error;
}

TEST(E2eExperiment, Vgg16Features) {
  TempDir tmp;
  write_cats_and_dogs(tmp / "train", 8);
  const Outcome o = runner(tiny_run("vgg16_features.yaml", tmp, tmp / "train",
                                    {"*.data.input.size=[32, 32]", "*.backbone.weights=null",
                                     "defaults.backbone.params.width=0.125"}),
                           tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  expect_every_run_completed(tmp / "results.db", "vgg16_features", {"vgg16_features"});
}

// ---------------------------------------------------------------------------------------------
// The command-line contract

TEST(E2eCli, ValidatePrintsOkForEveryExperimentFile) {
  TempDir tmp;
  const std::vector<std::pair<std::string, int>> files = {
      {"five_models.yaml", 6},         {"cats_vs_dogs_vgg16.yaml", 5}, {"cifar10_vgg19.yaml", 1},
      {"fruit30_resnet18.yaml", 3},    {"multiclass_folder.yaml", 2},  {"vgg16_features.yaml", 1},
      {"five_models_by_size.yaml", 26}};
  for (const auto& [file, models] : files) {
    SCOPED_TRACE(file);
    const Outcome o = runner({"validate", "experiments/" + file}, tmp.path());
    EXPECT_EQ(o.exit_code, 0) << describe(o);
    EXPECT_EQ(o.out, "experiments/" + file + ": ok: " + std::to_string(models) +
                         (models == 1 ? " model, built and probed\n"
                                      : " models, each built and probed\n"));
    const Outcome dry = runner({"experiments/" + file, "--dry-run"}, tmp.path());
    EXPECT_EQ(dry.exit_code, 0) << describe(dry);
    EXPECT_EQ(count_of(dry.out, "\nmodel "), static_cast<std::size_t>(models)) << dry.out;
  }
}

TEST(E2eCli, UnknownKeyIsOneCompilerStyleLineAndExit2) {
  TempDir tmp;
  const fs::path file = tmp / "typo.yaml";
  write_text(file,
             "experiment: typo\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: idx}\n"
             "  backbone: {plugin: basic_cnn}\n"
             "models:\n"
             "  - name: scratch\n"
             "    strategy: {plugin: scratch}\n"
             "    backbon: {plugin: basic_cnn}\n");
  for (const std::string command : {"validate", "run"}) {
    SCOPED_TRACE(command);
    std::vector<std::string> args = {command, file.string()};
    if (command == "run") args.insert(args.end(), {"--db", (tmp / "results.db").string()});
    const Outcome o = runner(args, tmp.path());
    EXPECT_EQ(o.exit_code, 2) << describe(o);
    EXPECT_EQ(o.err, file.string() +
                         ":9:5: error: unknown key 'backbon' in models[0]; did you mean "
                         "'backbone'?\n");
    EXPECT_EQ(o.out, "");
  }
  // Bad input runs nothing, so no database either.
  EXPECT_FALSE(fs::exists(tmp / "results.db"));
}

TEST(E2eCli, OnlyWithAnUnknownModelExits2) {
  TempDir tmp;
  const std::string db = (tmp / "results.db").string();
  Outcome o =
      runner({"experiments/five_models.yaml", "--only", "nosuchmodel", "--db", db}, tmp.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err, "runner run: error: --only names no model 'nosuchmodel'\n");
  o = runner({"experiments/five_models.yaml", "--only", "vgg_fine_tun", "--db", db}, tmp.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err,
            "runner run: error: --only names no model 'vgg_fine_tun'; did you mean "
            "'vgg_fine_tune'?\n");
  EXPECT_FALSE(fs::exists(db));
}

// A model that fails is recorded failed with its reason; the models after it still run.
TEST(E2eCli, FailedModelIsRecordedAndTheOthersComplete) {
  TempDir tmp;
  write_cats_and_dogs(tmp / "train", 8);
  const fs::path missing = tmp / "no" / "such" / "vgg16-397923af.pth";
  const fs::path file = tmp / "failing.yaml";
  write_text(file,
             "experiment: failing\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: filename_labels, params: {root: train}}\n"
             "    split: {classes: [cat, dog], per_class: {train: 4, val: 2, test: 2}}\n"
             "    input: {size: [32, 32], channels: 3}\n"
             "  strategy: {plugin: scratch}\n"
             "  backbone: {plugin: basic_cnn, params: {widths: [4, 8]}}\n"
             "  head: {plugin: dense, params: {units: [8]}}\n"
             "  training: {epochs: 1, batch_size: 8}\n"
             "models:\n"
             "  - name: before\n"
             "  - name: missing_weights\n"
             "    backbone: {plugin: basic_cnn, params: {widths: [4, 8]}, weights: " +
                 missing.string() +
                 "}\n"
                 "  - name: after\n");
  const Outcome o = runner({file.string(), "--db", (tmp / "results.db").string(), "--results",
                            (tmp / "results").string(), "--threads", "2", "--quiet"},
                           tmp.path());
  EXPECT_EQ(o.exit_code, 1) << describe(o);
  EXPECT_NE(o.err.find("missing_weights: error: " + missing.string()), std::string::npos) << o.err;

  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto runs = store.summaries("failing");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].model, "before");
  EXPECT_EQ(tlr::to_string(runs[0].status), std::string("completed")) << runs[0].error;
  EXPECT_EQ(runs[1].model, "missing_weights");
  EXPECT_EQ(tlr::to_string(runs[1].status), std::string("failed"));
  EXPECT_NE(runs[1].error.find(missing.string()), std::string::npos) << runs[1].error;
  EXPECT_EQ(runs[1].error.find('\n'), std::string::npos) << runs[1].error;
  EXPECT_EQ(runs[2].model, "after");
  EXPECT_EQ(tlr::to_string(runs[2].status), std::string("completed")) << runs[2].error;
  EXPECT_TRUE(runs[2].test_accuracy.has_value());
}

// An identical rerun trains no source model again and reads the bottleneck features back.
TEST(E2eCli, FiveModelsRerunReusesPublishedWeightsAndFeatureCache) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  const Outcome first = runner(five_models_args(tmp, false), tmp.path());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_NE(first.err.find("source_pretrain: published weights 'fmnist_source8'"),
            std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find("vgg_features: train features computed and cached"), std::string::npos)
      << first.err;

  const Outcome second = runner(five_models_args(tmp, false), tmp.path());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("source_pretrain: reusing weights 'fmnist_source8'"), std::string::npos)
      << second.err;
  for (const std::string split : {"train", "val", "test"}) {
    EXPECT_NE(second.err.find("vgg_features: " + split + " features read from cache"),
              std::string::npos)
        << second.err;
  }

  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto runs = store.summaries("five_models");
  ASSERT_EQ(runs.size(), kFiveModels.size());
  for (const auto& run : runs) {
    EXPECT_EQ(tlr::to_string(run.status), std::string("completed")) << run.model << run.error;
  }
  // The reuse recorded no run: the source row the report shows is the run that trained it (the
  // first invocation's, with its epochs), and the rerun names it.
  EXPECT_EQ(runs[0].model, "source_pretrain");
  EXPECT_EQ(runs[0].run_id, 1);
  EXPECT_GT(runs[0].epochs_run, 0);
  EXPECT_NE(second.err.find("source_pretrain: reusing weights 'fmnist_source8' published by run 1"),
            std::string::npos)
      << second.err;
  // Both invocations are recorded: the compared models ran twice.
  EXPECT_GT(runs[1].run_id, static_cast<std::int64_t>(kFiveModels.size()));
}

// Same file, same seed, same thread count: the same numbers, bit for bit — shuffling, dropout,
// augmentation (per-sample generators on the data threads) and the source stage included. Three
// epochs, so every model draws from its generators more than once.
TEST(E2eCli, SameFileSeedAndThreadsGiveTheSameNumbers) {
  TempDir first_tmp, second_tmp;
  std::vector<std::vector<tlr::EpochRow>> epochs[2];
  std::vector<std::vector<std::pair<std::string, double>>> test_metrics[2];
  std::vector<std::string> models[2];
  int side = 0;
  for (const TempDir* tmp : {&first_tmp, &second_tmp}) {
    write_fashion_mnist(*tmp);
    std::vector<std::string> args = five_models_args(*tmp, true);
    args.insert(args.end(), {"--set", "*.training.epochs=3"});
    const Outcome o = runner(args, tmp->path());
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    tlr::Store store = tlr::Store::open((tmp->path() / "results.db").string());
    for (const auto& run : store.summaries("five_models")) {
      models[side].push_back(run.model);
      epochs[side].push_back(store.epochs(run.run_id));
      test_metrics[side].push_back(store.metrics(run.run_id, "test"));
    }
    ++side;
  }
  ASSERT_EQ(models[0], kFiveModels);
  ASSERT_EQ(models[1], kFiveModels);
  for (std::size_t m = 0; m < kFiveModels.size(); ++m) {
    SCOPED_TRACE("model " + kFiveModels[m]);
    ASSERT_EQ(epochs[0][m].size(), epochs[1][m].size());
    EXPECT_FALSE(epochs[0][m].empty());
    for (std::size_t e = 0; e < epochs[0][m].size(); ++e) {
      const tlr::EpochRow& a = epochs[0][m][e];
      const tlr::EpochRow& b = epochs[1][m][e];
      SCOPED_TRACE(a.phase + " epoch " + std::to_string(a.epoch));
      EXPECT_EQ(a.phase, b.phase);
      EXPECT_EQ(a.train_loss, b.train_loss);
      EXPECT_EQ(a.train_acc, b.train_acc);
      EXPECT_EQ(a.val_loss, b.val_loss);
      EXPECT_EQ(a.val_acc, b.val_acc);
    }
    // Equal values, or both NaN (a precision with no prediction of its class).
    ASSERT_EQ(test_metrics[0][m].size(), test_metrics[1][m].size());
    EXPECT_FALSE(test_metrics[0][m].empty());
    for (std::size_t k = 0; k < test_metrics[0][m].size(); ++k) {
      const auto& [name, a] = test_metrics[0][m][k];
      const double b = test_metrics[1][m][k].second;
      EXPECT_EQ(name, test_metrics[1][m][k].first);
      EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b))) << name << ": " << a << " vs " << b;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Interrupted runs: Ctrl-C and a killed process.

// A runner started in the background (stdout and stderr to files in `dir`), for signals.
class BackgroundRunner {
 public:
  BackgroundRunner(const std::vector<std::string>& args, const fs::path& dir)
      : out_(dir / "background_stdout.txt"), err_(dir / "background_stderr.txt") {
    // Everything the child needs is built before fork(): after it, only exec-safe calls.
    std::vector<std::string> strings = {TLR_RUNNER};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    argv.reserve(strings.size() + 1);
    for (auto& a : strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out = out_.string(), err = err_.string();
    pid_ = fork();
    if (pid_ == 0) {
      const int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out_fd < 0 || err_fd < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
      execv(argv[0], argv.data());
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
  std::string output() const {
    return "--- stdout\n" + read_file(out_) + "--- stderr\n" + read_file(err_);
  }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// A first column of the first row, read without the Store (which would mark stale runs), or "".
std::string query(const fs::path& db, const std::string& sql) {
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
fs::path write_endless_experiment(const TempDir& tmp) {
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
bool wait_for_epochs(const fs::path& db, int epochs) {
  for (int i = 0; i < 1200; ++i) {
    const std::string n = query(db, "SELECT count(*) FROM epochs");
    if (!n.empty() && std::stoi(n) >= epochs) return true;
    usleep(100 * 1000);
  }
  return false;
}

TEST(E2eCli, CtrlCRecordsTheRunAsInterruptedAndExits130) {
  TempDir tmp;
  const fs::path file = write_endless_experiment(tmp);
  const fs::path db = tmp / "results.db";
  BackgroundRunner runner_process({file.string(), "--db", db.string(), "--results",
                                   (tmp / "results").string(), "--threads", "1", "--quiet"},
                                  tmp.path());
  ASSERT_TRUE(wait_for_epochs(db, 3)) << runner_process.output();
  EXPECT_EQ(runner_process.stop(SIGINT), 130) << runner_process.output();

  EXPECT_EQ(query(db, "SELECT status FROM runs"), "interrupted");
  EXPECT_EQ(query(db, "SELECT error FROM runs"), "interrupted by the user (SIGINT)");
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "interrupted");
  EXPECT_NE(query(db, "SELECT finished_at FROM runs"), "");
  // Every epoch row is whole: no half-written epoch.
  EXPECT_EQ(query(db, "SELECT count(*) FROM epochs WHERE train_loss IS NULL OR val_loss IS NULL"),
            "0");
  // The database is consistent and the report reads it.
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
  const Outcome report = runner({"report", "--db", db.string()}, tmp.path());
  EXPECT_EQ(report.exit_code, 0) << describe(report);
  EXPECT_NE(report.out.find("interrupted"), std::string::npos) << report.out;
}

TEST(E2eCli, KilledRunnerLeavesARunningRowThatTheNextRunnerMarksInterrupted) {
  TempDir tmp;
  const fs::path file = write_endless_experiment(tmp);
  const fs::path db = tmp / "results.db";
  std::string pid;
  {
    BackgroundRunner runner_process({file.string(), "--db", db.string(), "--results",
                                     (tmp / "results").string(), "--threads", "1", "--quiet"},
                                    tmp.path());
    pid = std::to_string(runner_process.pid());
    ASSERT_TRUE(wait_for_epochs(db, 3)) << runner_process.output();
    EXPECT_EQ(runner_process.stop(SIGKILL), -SIGKILL);
  }
  EXPECT_EQ(query(db, "SELECT status FROM runs"), "running");
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");

  // The next runner on this host sees that the process is gone.
  const Outcome report = runner({"report", "--db", db.string()}, tmp.path());
  EXPECT_EQ(report.exit_code, 0) << describe(report);
  EXPECT_EQ(query(db, "SELECT status FROM runs"), "interrupted");
  EXPECT_NE(query(db, "SELECT error FROM runs").find("process " + pid), std::string::npos)
      << query(db, "SELECT error FROM runs");
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "interrupted");
}

// ---------------------------------------------------------------------------------------------
// runner preview-augment

fs::path write_augment_experiment(const TempDir& tmp, bool with_augmenter) {
  write_cats_and_dogs(tmp / "train", 8);
  fs::path file = tmp / (with_augmenter ? "augment.yaml" : "plain.yaml");
  write_text(file, std::string("experiment: preview\n"
                               "defaults:\n"
                               "  data:\n"
                               "    dataset: {plugin: filename_labels, params: {root: train}}\n"
                               "    split: {classes: [cat, dog], per_class: {train: 4, val: 2, "
                               "test: 2}}\n"
                               "    input: {size: [24, 20], channels: 3}\n"
                               "  backbone: {plugin: basic_cnn, params: {widths: [4]}}\n"
                               "models:\n"
                               "  - {name: plain, strategy: {plugin: scratch}}\n") +
                       (with_augmenter ? "  - name: augmented\n"
                                         "    strategy: {plugin: scratch}\n"
                                         "    augmenter:\n"
                                         "      plugin: keras_image\n"
                                         "      params: {rotation_range: 40, width_shift_range: "
                                         "0.2, horizontal_flip: true}\n"
                                       : ""));
  return file;
}

TEST(E2eCli, PreviewAugmentWritesAGridOfTheFirstModelWithAnAugmenter) {
  TempDir tmp;
  const fs::path file = write_augment_experiment(tmp, true);
  const fs::path png = tmp / "preview.png";
  const std::vector<std::string> args = {"preview-augment", file.string(),
                                         "--out",           png.string(),
                                         "--rows",          "3",
                                         "--cols",          "4",
                                         "--results",       (tmp / "results").string()};
  const Outcome o = runner(args, tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_EQ(o.out, png.string() + "\n");
  const cv::Mat grid = cv::imread(png.string(), cv::IMREAD_COLOR);
  ASSERT_FALSE(grid.empty());
  // size is [height, width]: 3 rows of 24-pixel-high cells, 4 columns of 20-pixel-wide cells,
  // 2-pixel gaps.
  ASSERT_EQ(grid.rows, 3 * 24 + 2 * 2);
  ASSERT_EQ(grid.cols, 4 * 20 + 3 * 2);
  // The augmented columns are not copies of the original (column 0).
  int changed = 0;
  for (int r = 0; r < 3; ++r) {
    const cv::Mat original = grid(cv::Rect(0, r * 26, 20, 24));
    for (int c = 1; c < 4; ++c) {
      changed += cv::norm(original, grid(cv::Rect(c * 22, r * 26, 20, 24)), cv::NORM_L1) > 0;
    }
  }
  EXPECT_GE(changed, 7) << "of 9 augmented cells";
  // Seeded: the same image again.
  const std::string first = read_file(png);
  ASSERT_EQ(runner(args, tmp.path()).exit_code, 0);
  EXPECT_EQ(read_file(png), first);

  // Without --out: under --results, by experiment and model.
  const Outcome default_out = runner(
      {"preview-augment", file.string(), "--results", (tmp / "results").string()}, tmp.path());
  ASSERT_EQ(default_out.exit_code, 0) << describe(default_out);
  const fs::path expected = tmp / "results" / "preview" / "augmented" / "augment_preview.png";
  EXPECT_EQ(default_out.out, expected.string() + "\n");
  EXPECT_TRUE(fs::exists(expected));
}

TEST(E2eCli, PreviewAugmentNamesTheProblemAndExits2) {
  TempDir tmp;
  const fs::path results = tmp / "results";
  Outcome o = runner({"preview-augment", write_augment_experiment(tmp, true).string(), "--model",
                      "augmneted", "--results", results.string()},
                     tmp.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err,
            "runner preview-augment: error: no model 'augmneted'; did you mean 'augmented'?\n");
  const fs::path plain = write_augment_experiment(tmp, false);
  o = runner({"preview-augment", plain.string(), "--results", results.string()}, tmp.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err,
            "runner preview-augment: error: no model of " + plain.string() + " has an augmenter\n");
  EXPECT_FALSE(fs::exists(results / "preview")) << "nothing written";
}

// --only a transfer model brings along the stage that publishes its weights: trained the first
// time, reused the second.
TEST(E2eCli, OnlyAlsoRunsTheStageThatPublishesTheWeightsItLoads) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  std::vector<std::string> args = five_models_args(tmp, false);
  args.insert(args.end(), {"--only", "vgg_features"});
  const Outcome first = runner(args, tmp.path());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_NE(first.err.find("runner run: --only: also running source_pretrain, which publishes the "
                           "weights 'fmnist_source8' a chosen model loads"),
            std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find("source_pretrain: published weights 'fmnist_source8'"),
            std::string::npos)
      << first.err;
  expect_every_run_completed(tmp / "results.db", "five_models",
                             {"source_pretrain", "vgg_features"});

  const Outcome second = runner(args, tmp.path());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("source_pretrain: reusing weights 'fmnist_source8'"), std::string::npos)
      << second.err;
  // The reuse does not shadow the run that did the work: latest_runs still shows it.
  {
    tlr::Store store = tlr::Store::open((tmp / "results.db").string());
    const auto runs = store.summaries("five_models");
    ASSERT_FALSE(runs.empty());
    EXPECT_EQ(runs[0].model, "source_pretrain");
    EXPECT_GT(runs[0].epochs_run, 0);
    EXPECT_TRUE(runs[0].test_accuracy.has_value());
  }
  // A model that loads no published weights brings nothing along.
  args = five_models_args(tmp, false);
  args.insert(args.end(), {"--only", "basic_cnn"});
  const Outcome scratch = runner(args, tmp.path());
  ASSERT_EQ(scratch.exit_code, 0) << describe(scratch);
  EXPECT_EQ(scratch.err.find("also running"), std::string::npos) << scratch.err;
  EXPECT_EQ(scratch.err.find("source_pretrain"), std::string::npos) << scratch.err;
}

// A small experiment of three fast models, for the report tests.
struct SmallExperiment {
  TempDir tmp;
  Outcome outcome;
  SmallExperiment() {
    write_cats_and_dogs(tmp / "train", 8);
    write_text(tmp / "small.yaml",
               "experiment: small\n"
               "defaults:\n"
               "  data:\n"
               "    dataset: {plugin: filename_labels, params: {root: train}}\n"
               "    split: {classes: [cat, dog], per_class: {train: 4, val: 2, test: 2}}\n"
               "    input: {size: [32, 32], channels: 3}\n"
               "  backbone: {plugin: basic_cnn, params: {widths: [4, 8]}}\n"
               "  head: {plugin: dense, params: {units: [8]}}\n"
               "  training: {epochs: 2, batch_size: 4}\n"
               "models:\n"
               "  - name: scratch\n"
               "    strategy: {plugin: scratch}\n"
               "  - name: frozen\n"
               "    strategy: {plugin: frozen}\n"
               "  - name: fine_tune\n"
               "    strategy: {plugin: fine_tune, params: {last_blocks: 2}}\n");
    outcome = runner({(tmp / "small.yaml").string(), "--db", (tmp / "results.db").string(),
                      "--results", (tmp / "results").string(), "--threads", "2", "--quiet"},
                     tmp.path());
  }
};

const std::vector<std::string> kSmallModels = {"scratch", "frozen", "fine_tune"};

TEST(E2eCli, ReportFormats) {
  SmallExperiment run;
  ASSERT_EQ(run.outcome.exit_code, 0) << describe(run.outcome);
  expect_every_run_completed(run.tmp / "results.db", "small", kSmallModels);
  const std::string db = (run.tmp / "results.db").string();

  const Outcome csv = runner({"report", "--db", db, "--format", "csv"}, run.tmp.path());
  ASSERT_EQ(csv.exit_code, 0) << describe(csv);
  std::istringstream lines(csv.out);
  std::string header, line;
  std::getline(lines, header);
  EXPECT_NE(header.find("model"), std::string::npos) << csv.out;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) {
    if (!line.empty()) rows.push_back(line);
  }
  ASSERT_EQ(rows.size(), kSmallModels.size()) << csv.out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_NE(rows[i].find(kSmallModels[i]), std::string::npos) << rows[i];
  }

  const Outcome json =
      runner({"report", "--db", db, "--experiment", "small", "--format", "json"}, run.tmp.path());
  ASSERT_EQ(json.exit_code, 0) << describe(json);
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(json.out)) << json.out;
  // One object per model, whatever the document around it.
  const nlohmann::json* list = &parsed;
  if (parsed.is_object()) {
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
      if (it.value().is_array()) list = &it.value();
    }
  }
  ASSERT_TRUE(list->is_array()) << json.out;
  ASSERT_EQ(list->size(), kSmallModels.size()) << json.out;
  for (std::size_t i = 0; i < list->size(); ++i) {
    EXPECT_EQ((*list)[i].value("model", std::string()), kSmallModels[i]) << json.out;
  }

  const Outcome markdown = runner({"report", "--db", db, "--format", "markdown"}, run.tmp.path());
  ASSERT_EQ(markdown.exit_code, 0) << describe(markdown);
  EXPECT_EQ(markdown.out.rfind("experiment small (" + db + ")\n\n| model", 0), 0u) << markdown.out;
  EXPECT_NE(markdown.out.find("\n|---"), std::string::npos) << markdown.out;
  for (const auto& model : kSmallModels) {
    EXPECT_NE(markdown.out.find("| " + model + " "), std::string::npos) << markdown.out;
  }

  const Outcome bad = runner({"report", "--db", db, "--format", "yaml"}, run.tmp.path());
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
}

TEST(E2eCli, HtmlReportRendersInChromium) {
  SmallExperiment run;
  ASSERT_EQ(run.outcome.exit_code, 0) << describe(run.outcome);
  const fs::path html = run.tmp / "results" / "small" / "report.html";
  ASSERT_TRUE(fs::exists(html));
  const std::string text = read_file(html);
  EXPECT_NE(text.find("id=\"comparison\""), std::string::npos);
  // Self-contained: nothing fetched from the network.
  EXPECT_EQ(text.find("http://"), std::string::npos);
  EXPECT_EQ(text.find("https://"), std::string::npos);

  const fs::path chromium = "/usr/bin/chromium";
  if (!fs::exists(chromium)) GTEST_SKIP() << "no /usr/bin/chromium to render report.html with";
  const std::string command =
      "timeout 120 " + shell_quote(chromium.string()) +
      " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
      " --disable-background-networking --disable-component-update --disable-sync"
      " --user-data-dir=" +
      shell_quote((run.tmp / "chromium-profile").string()) + " --dump-dom " +
      shell_quote("file://" + fs::absolute(html).string());
  const Outcome o = run_shell(command, run.tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_NE(o.out.find("id=\"comparison\""), std::string::npos) << o.out.substr(0, 2000);
  EXPECT_EQ(count_of(o.out, "<section class=\"model\""), kSmallModels.size()) << o.out;
  for (const auto& model : kSmallModels) {
    EXPECT_NE(o.out.find(">" + model + "<"), std::string::npos) << model;
  }
}

}  // namespace
