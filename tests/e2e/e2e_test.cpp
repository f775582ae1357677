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
#include <tuple>
#include <vector>

#include "core/store/store.h"
#include "datasets/test_files.h"
#include "e2e/e2e_support.h"
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
using namespace tlr::testing::e2e;  // NOLINT(google-build-using-namespace): the shared helpers

// Shared with the other e2e tests: e2e/e2e_support.h (tiny_run, the tiny data sets, results.db
// checks, BackgroundRunner, query, write_endless_experiment, wait_for_epochs).

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
           "matrix.data.split.per_class.train=[2, 4]", "replicates=1",
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
  // Models, and runs with their replicates: five_models runs the five compared models 5 times and
  // its source stage once; five_models_by_size each of its 25 cells 3 times.
  const std::vector<std::tuple<std::string, int, int>> files = {
      {"five_models.yaml", 6, 26},         {"cats_vs_dogs_vgg16.yaml", 5, 5},
      {"cifar10_vgg19.yaml", 1, 1},        {"fruit30_resnet18.yaml", 3, 3},
      {"multiclass_folder.yaml", 2, 2},    {"vgg16_features.yaml", 1, 1},
      {"five_models_by_size.yaml", 26, 76}};
  for (const auto& [file, models, cells] : files) {
    SCOPED_TRACE(file);
    const Outcome o = runner({"validate", "experiments/" + file}, tmp.path());
    EXPECT_EQ(o.exit_code, 0) << describe(o);
    const std::string runs =
        cells > models ? " (" + std::to_string(cells) + " runs with their replicates)" : "";
    EXPECT_EQ(o.out, "experiments/" + file + ": ok: " + std::to_string(models) +
                         (models == 1 ? " model" + runs + ", built and probed\n"
                                      : " models" + runs + ", each built and probed\n"));
    const Outcome dry = runner({"experiments/" + file, "--dry-run"}, tmp.path());
    EXPECT_EQ(dry.exit_code, 0) << describe(dry);
    EXPECT_EQ(count_of(dry.out, "\nmodel "), static_cast<std::size_t>(cells)) << dry.out;
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
  // A weight file that exists (runner run refuses a missing one before anything runs) but is not
  // the file its torchvision name claims: the model fails when it loads it.
  const fs::path damaged = tmp / "weights" / "vgg16-397923af.pth";
  write_text(damaged, "not the published weights\n");
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
             "  - name: damaged_weights\n"
             "    backbone: {plugin: basic_cnn, params: {widths: [4, 8]}, weights: " +
                 damaged.string() +
                 "}\n"
                 "  - name: after\n");
  const Outcome o = runner({file.string(), "--db", (tmp / "results.db").string(), "--results",
                            (tmp / "results").string(), "--threads", "2", "--quiet"},
                           tmp.path());
  EXPECT_EQ(o.exit_code, 1) << describe(o);
  EXPECT_NE(o.err.find("damaged_weights: error: " + damaged.string() + ": error: its sha256 is "),
            std::string::npos)
      << o.err;

  tlr::Store store = tlr::Store::open((tmp / "results.db").string());
  const auto runs = store.summaries("failing");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].model, "before");
  EXPECT_EQ(tlr::to_string(runs[0].status), std::string("completed")) << runs[0].error;
  EXPECT_EQ(runs[1].model, "damaged_weights");
  EXPECT_EQ(tlr::to_string(runs[1].status), std::string("failed"));
  EXPECT_NE(runs[1].error.find("but its name says it starts with 397923af"), std::string::npos)
      << runs[1].error;
  EXPECT_EQ(runs[1].error.find('\n'), std::string::npos) << runs[1].error;
  EXPECT_EQ(runs[2].model, "after");
  EXPECT_EQ(tlr::to_string(runs[2].status), std::string("completed")) << runs[2].error;
  EXPECT_TRUE(runs[2].test_accuracy.has_value());
}

// An identical rerun trains nothing (resume_test.cpp has the rest of skipping); a model forced
// with --rerun finds its publisher's weights and reads its bottleneck features back.
TEST(E2eCli, FiveModelsRerunSkipsCompletedModelsAndReusesPublishedWeightsAndFeatures) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  const Outcome first = runner(five_models_args(tmp, false), tmp.path());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_NE(first.err.find("source_pretrain: published weights 'fmnist_source8'"),
            std::string::npos)
      << first.err;
  EXPECT_NE(first.err.find("vgg_features: train features computed and cached"), std::string::npos)
      << first.err;

  std::vector<std::string> args = five_models_args(tmp, false);
  args.insert(args.end(), {"--rerun", "vgg_features"});
  const Outcome second = runner(args, tmp.path());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("source_pretrain: completed as run 1 ("), std::string::npos)
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
  // Only the forced model ran again; the table of the second invocation shows every model.
  std::int64_t newest = 0;
  for (const auto& run : runs) newest = std::max(newest, run.run_id);
  EXPECT_EQ(newest, static_cast<std::int64_t>(kFiveModels.size()) + 1);
  for (const auto& model : kFiveModels) {
    EXPECT_NE(second.out.find(model), std::string::npos) << second.out;
  }
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
  EXPECT_EQ(query(db, "SELECT error FROM runs"),
            "stopped by SIGINT; checkpointed at a batch boundary: rerun to resume");
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
  EXPECT_NE(second.err.find("source_pretrain: completed as run 1 ("), std::string::npos)
      << second.err;
  // The skip records no run: latest_runs still shows the one that did the work.
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
