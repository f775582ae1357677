// Long work that survives (issue 13): a rerun skips completed cells, a killed or signalled runner
// resumes from its checkpoints to the numbers an uninterrupted run gives, bit for bit, `--jobs`
// runs cells in worker processes with the same numbers, several runners share one results.db, and
// `runner status` says where each cell stands.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "e2e/cell_numbers.h"
#include "e2e/e2e_support.h"
#include "e2e/runner_process.h"

namespace {

namespace fs = std::filesystem;
using tlr::testing::describe;
using tlr::testing::Outcome;
using tlr::testing::runner;
using tlr::testing::shell_quote;
using tlr::testing::TempDir;
using tlr::testing::write_text;
using namespace tlr::testing::e2e;  // NOLINT(google-build-using-namespace): the shared helpers

// Replaces the value of --threads in `args`.
void set_threads(std::vector<std::string>& args, int threads) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--threads") args[i + 1] = std::to_string(threads);
  }
}

// five_models.yaml on tiny data, 3 epochs, batches of 4 (so every epoch has several batches and a
// kill can land mid-epoch), 1 thread, a checkpoint after every epoch (`interval` "0"; the
// default, 30 s, checkpoints these seconds-long fits only at their end).
std::vector<std::string> resumable_five_models(const TempDir& tmp,
                                               const std::string& interval = "0") {
  std::vector<std::string> args = tiny_run(
      "five_models.yaml", tmp, tmp / "fashion-mnist",
      {"*.training.epochs=3", "*.training.batch_size=4", "*.training.early_stopping.patience=0"},
      {"--checkpoint-interval", interval});
  set_threads(args, 1);
  return args;
}

std::string count_rows(const fs::path& db, const std::string& table) {
  return query(db, "SELECT count(*) FROM " + table);
}

// ---------------------------------------------------------------------------------------------
// SIGKILL at exact moments (engine/util/fault_point.h), then a rerun.

struct KillPoint {
  const char* fault;  // TLR_FAULT value
  const char* what;
};

class KilledRunner : public ::testing::TestWithParam<KillPoint> {
 protected:
  // The uninterrupted run, made once for every kill point.
  static void SetUpTestSuite() {
    reference_dir_ = new TempDir();
    write_fashion_mnist(*reference_dir_);
    const Outcome o = runner(resumable_five_models(*reference_dir_), reference_dir_->path());
    ASSERT_EQ(o.exit_code, 0) << describe(o);
    reference_ = new std::map<std::string, CellNumbers>(
        numbers_of(reference_dir_->path() / "results.db", "five_models"));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_dir_;
  }
  static TempDir* reference_dir_;
  static std::map<std::string, CellNumbers>* reference_;
};

TempDir* KilledRunner::reference_dir_ = nullptr;
std::map<std::string, CellNumbers>* KilledRunner::reference_ = nullptr;

TEST_P(KilledRunner, RerunResumesToTheNumbersOfAnUninterruptedRun) {
  ASSERT_NE(reference_, nullptr);
  TempDir tmp;
  write_fashion_mnist(tmp);
  const fs::path db = tmp / "results.db";
  const std::vector<std::string> args = resumable_five_models(tmp);
  {
    BackgroundRunner killed(args, tmp.path(), {std::string("TLR_FAULT=") + GetParam().fault},
                            "killed");
    ASSERT_EQ(killed.wait(), -SIGKILL) << GetParam().what << "\n" << killed.output();
  }
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE status = 'running'"), "1");

  const Outcome rerun = runner(args, tmp.path());
  ASSERT_EQ(rerun.exit_code, 0) << describe(rerun);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE resumes = 1"), "1") << describe(rerun);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), "6") << "no cell ran twice";
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
  expect_same_numbers(*reference_, numbers_of(db, "five_models"));
  // A completed cell keeps no checkpoint.
  EXPECT_FALSE(fs::exists(tmp / "results" / "checkpoints") &&
               !fs::is_empty(tmp / "results" / "checkpoints"));
}

// With the default interval a short fit has no end-of-epoch checkpoint to resume from: the
// rerun trains the killed fit again from its start, to the same numbers.
TEST_F(KilledRunner, WithTheDefaultIntervalTheRerunRedoesTheFitToTheSameNumbers) {
  ASSERT_NE(reference_, nullptr);
  TempDir tmp;
  write_fashion_mnist(tmp);
  const fs::path db = tmp / "results.db";
  const std::vector<std::string> args = resumable_five_models(tmp, "30");
  {
    BackgroundRunner killed(args, tmp.path(), {"TLR_FAULT=epoch_recorded:3"}, "killed");
    ASSERT_EQ(killed.wait(), -SIGKILL) << killed.output();
  }
  // source_pretrain's first two epochs left no checkpoint behind.
  const fs::path checkpoints = tmp / "results" / "checkpoints";
  if (fs::exists(checkpoints)) {
    for (const auto& entry : fs::recursive_directory_iterator(checkpoints)) {
      EXPECT_FALSE(entry.is_regular_file()) << entry.path();
    }
  }
  const Outcome rerun = runner(args, tmp.path());
  ASSERT_EQ(rerun.exit_code, 0) << describe(rerun);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE resumes = 1"), "1") << describe(rerun);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), "6") << "no cell ran twice";
  expect_same_numbers(*reference_, numbers_of(db, "five_models"));
}

// Killed after a cell's model is evaluated and saved but before its completion is recorded: the
// run has its epochs and nothing else (no test metrics a report could show, no confusion, no
// predictions, no artifact rows), because complete_run() writes them with the status.
TEST_F(KilledRunner, AKilledRunHasNoResultsRecorded) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  const fs::path db = tmp / "results.db";
  {
    BackgroundRunner killed(resumable_five_models(tmp), tmp.path(), {"TLR_FAULT=run_completing:2"},
                            "killed");
    ASSERT_EQ(killed.wait(), -SIGKILL) << killed.output();
  }
  const std::string run = query(db, "SELECT id FROM runs WHERE status = 'running'");
  ASSERT_FALSE(run.empty());
  EXPECT_NE(query(db, "SELECT count(*) FROM epochs WHERE run_id = " + run), "0");
  for (const char* table : {"metrics", "confusion", "predictions", "artifacts"}) {
    EXPECT_EQ(query(db, std::string("SELECT count(*) FROM ") + table + " WHERE run_id = " + run),
              "0")
        << table;
  }
  EXPECT_EQ(
      query(db, "SELECT ifnull(test_accuracy, 'none') FROM run_summary WHERE run_id = " + run),
      "none");
  // The completed run before it has all of it.
  EXPECT_NE(query(db,
                  "SELECT count(*) FROM metrics WHERE split = 'test' AND run_id = "
                  "(SELECT min(id) FROM runs)"),
            "0");
}

INSTANTIATE_TEST_SUITE_P(
    AtSeveralPoints, KilledRunner,
    ::testing::Values(KillPoint{"train_batch:11", "mid-epoch, between two training batches"},
                      KillPoint{"epoch_recorded:4", "an epoch row recorded, its checkpoint not"},
                      KillPoint{"checkpoint_saved:9", "just after a checkpoint"},
                      KillPoint{"evaluation_batch:2", "during a test evaluation"},
                      KillPoint{"epoch_recorded:14", "in a transfer model, after the source"},
                      KillPoint{"run_completing:2", "a model saved, its completion not recorded"}),
    [](const ::testing::TestParamInfo<KillPoint>& info) {
      std::string name = info.param.fault;
      for (char& c : name) {
        if (c == ':') c = '_';
      }
      return name;
    });

// A stop signal raised at an exact training batch (TLR_FAULT=train_batch:N:TERM): the state is
// saved at that batch, the runner exits 75 (130 for SIGINT), and the rerun continues from that
// very batch to the uninterrupted numbers.
struct StopPoint {
  const char* fault;
  int exit_code;
};

class StoppedRunner : public ::testing::TestWithParam<StopPoint> {};

TEST_P(StoppedRunner, RerunContinuesFromTheBatchItStoppedAt) {
  // Shares the uninterrupted reference with KilledRunner (same arguments, same data).
  TempDir reference;
  write_fashion_mnist(reference);
  const Outcome uninterrupted = runner(resumable_five_models(reference), reference.path());
  ASSERT_EQ(uninterrupted.exit_code, 0) << describe(uninterrupted);

  TempDir tmp;
  write_fashion_mnist(tmp);
  const fs::path db = tmp / "results.db";
  const std::vector<std::string> args = resumable_five_models(tmp);
  {
    BackgroundRunner stopped(args, tmp.path(), {std::string("TLR_FAULT=") + GetParam().fault},
                             "stopped");
    ASSERT_EQ(stopped.wait(), GetParam().exit_code) << stopped.output();
  }
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM runs WHERE status = 'interrupted' AND error LIKE "
                  "'%checkpointed at a batch boundary: rerun to resume'"),
            "1");
  const Outcome rerun = runner(args, tmp.path());
  ASSERT_EQ(rerun.exit_code, 0) << describe(rerun);
  EXPECT_EQ(count_rows(db, "runs"), "6");
  expect_same_numbers(numbers_of(reference / "results.db", "five_models"),
                      numbers_of(db, "five_models"));
}

INSTANTIATE_TEST_SUITE_P(AtABatch, StoppedRunner,
                         ::testing::Values(StopPoint{"train_batch:13:TERM", 75},
                                           StopPoint{"train_batch:41:USR1", 75},
                                           StopPoint{"train_batch:52:INT", 130}),
                         [](const ::testing::TestParamInfo<StopPoint>& info) {
                           std::string name = info.param.fault;
                           for (char& c : name) {
                             if (c == ':') c = '_';
                           }
                           return name;
                         });

// ---------------------------------------------------------------------------------------------
// Signals: SIGTERM checkpoints at the next batch and exits 75; the rerun resumes.

// One scratch model with dropout and augmentation, enough epochs to be stopped in the middle.
fs::path write_long_experiment(const TempDir& tmp, int epochs) {
  write_cats_and_dogs(tmp / "train", 8);
  fs::path file = tmp / "long.yaml";
  write_text(file,
             "experiment: long\n"
             "seed: 7\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: filename_labels, params: {root: train}}\n"
             "    split: {classes: [cat, dog], per_class: {train: 5, val: 2, test: 1}}\n"
             "    input: {size: [16, 16], channels: 3}\n"
             "  backbone: {plugin: basic_cnn, params: {widths: [4]}}\n"
             "  head: {plugin: dense, params: {units: [8], dropout: 0.5}}\n"
             "  augmenter: {plugin: keras_image, params: {horizontal_flip: true, "
             "rotation_range: 10}}\n"
             "  training: {epochs: " +
                 std::to_string(epochs) +
                 ", batch_size: 2, optimizer: {name: adam, lr: 1.0e-3},\n"
                 "             schedule: {name: plateau, patience: 3, factor: 0.5}}\n"
                 "models:\n"
                 "  - {name: long, strategy: {plugin: scratch}}\n");
  return file;
}

std::vector<std::string> long_args(const fs::path& file, const TempDir& tmp) {
  return {file.string(),
          "--db",
          (tmp / "results.db").string(),
          "--results",
          (tmp / "results").string(),
          "--threads",
          "1",
          "--quiet"};
}

TEST(Resume, SigtermCheckpointsExits75AndTheRerunResumesBitForBit) {
  constexpr int kEpochs = 150;
  TempDir reference, tmp;
  const fs::path reference_file = write_long_experiment(reference, kEpochs);
  const Outcome uninterrupted = runner(long_args(reference_file, reference), reference.path());
  ASSERT_EQ(uninterrupted.exit_code, 0) << describe(uninterrupted);

  const fs::path file = write_long_experiment(tmp, kEpochs);
  const fs::path db = tmp / "results.db";
  {
    BackgroundRunner stopped(long_args(file, tmp), tmp.path());
    ASSERT_TRUE(wait_for_epochs(db, 5)) << stopped.output();
    EXPECT_EQ(stopped.stop(SIGTERM), 75) << stopped.output();
  }
  EXPECT_EQ(query(db, "SELECT status FROM runs"), "interrupted");
  EXPECT_EQ(query(db, "SELECT error FROM runs"),
            "stopped by SIGTERM; checkpointed at a batch boundary: rerun to resume");
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
  const int recorded = std::stoi(count_rows(db, "epochs"));
  EXPECT_LT(recorded, kEpochs);

  const Outcome status = runner(
      {"status", file.string(), "--db", db.string(), "--results", (tmp / "results").string()},
      tmp.path());
  ASSERT_EQ(status.exit_code, 0) << describe(status);
  EXPECT_NE(status.out.find("interrupted"), std::string::npos) << status.out;
  EXPECT_NE(
      status.out.find("resumes from its checkpoint after " + std::to_string(recorded) + " epoch"),
      std::string::npos)
      << status.out;

  const Outcome rerun = runner(long_args(file, tmp), tmp.path());
  ASSERT_EQ(rerun.exit_code, 0) << describe(rerun);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), "1");
  EXPECT_EQ(query(db, "SELECT status || ' ' || resumes FROM runs"), "completed 1");
  expect_same_numbers(numbers_of(reference / "results.db", "long"), numbers_of(db, "long"));
}

// While a cell trains, status names its process and epoch; a failed cell shows its reason.
TEST(Resume, StatusShowsARunningCellWithItsPidAndEpoch) {
  TempDir tmp;
  const fs::path file = write_long_experiment(tmp, 100000);
  const fs::path db = tmp / "results.db";
  BackgroundRunner running(long_args(file, tmp), tmp.path());
  ASSERT_TRUE(wait_for_epochs(db, 2)) << running.output();
  const Outcome status = runner(
      {"status", file.string(), "--db", db.string(), "--results", (tmp / "results").string()},
      tmp.path());
  ASSERT_EQ(status.exit_code, 0) << describe(status);
  EXPECT_NE(
      status.out.find("long   running          1  pid " + std::to_string(running.pid()) + " on "),
      std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find(", epoch "), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("1 model: 1 running\n"), std::string::npos) << status.out;
  EXPECT_EQ(running.stop(SIGTERM), 75) << running.output();
}

// The same file started twice at once: the second runner leaves the cell to the first.
TEST(Resume, ACellRunningInAnotherRunnerIsSkipped) {
  TempDir tmp;
  const fs::path file = write_long_experiment(tmp, 100000);
  const fs::path db = tmp / "results.db";
  BackgroundRunner first(long_args(file, tmp), tmp.path());
  ASSERT_TRUE(wait_for_epochs(db, 2)) << first.output();
  std::vector<std::string> args = long_args(file, tmp);
  args.pop_back();  // not --quiet: the skip line is progress output
  const Outcome second = runner(args, tmp.path());
  EXPECT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_NE(second.err.find("long: running as run 1 (pid " + std::to_string(first.pid()) + " on "),
            std::string::npos)
      << second.err;
  EXPECT_EQ(count_rows(db, "runs"), "1");
  EXPECT_EQ(first.stop(SIGTERM), 75) << first.output();
}

// Ctrl-C: the same checkpoint, exit 130.
TEST(Resume, CtrlCCheckpointsAndExits130) {
  TempDir tmp;
  const fs::path file = write_long_experiment(tmp, 100000);
  const fs::path db = tmp / "results.db";
  BackgroundRunner stopped(long_args(file, tmp), tmp.path());
  ASSERT_TRUE(wait_for_epochs(db, 3)) << stopped.output();
  EXPECT_EQ(stopped.stop(SIGINT), 130) << stopped.output();
  EXPECT_EQ(query(db, "SELECT error FROM runs"),
            "stopped by SIGINT; checkpointed at a batch boundary: rerun to resume");
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "interrupted");
  EXPECT_FALSE(fs::is_empty(tmp / "results" / "checkpoints"));
}

// SIGHUP (the terminal or ssh session closed): treated as SIGTERM, not a crash left 'running'.
TEST(Resume, SighupCheckpointsAndExits75) {
  TempDir tmp;
  const fs::path file = write_long_experiment(tmp, 100000);
  const fs::path db = tmp / "results.db";
  BackgroundRunner stopped(long_args(file, tmp), tmp.path());
  ASSERT_TRUE(wait_for_epochs(db, 2)) << stopped.output();
  EXPECT_EQ(stopped.stop(SIGHUP), 75) << stopped.output();
  EXPECT_EQ(query(db, "SELECT status || ': ' || error FROM runs"),
            "interrupted: stopped by SIGHUP; checkpointed at a batch boundary: rerun to resume");
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "interrupted");
}

// ---------------------------------------------------------------------------------------------
// Skip: a rerun of a completed file trains nothing; a new model trains alone.

fs::path write_small_experiment(const TempDir& tmp, const std::string& models) {
  if (!fs::exists(tmp / "train")) write_cats_and_dogs(tmp / "train", 6);
  fs::path file = tmp / "small.yaml";
  write_text(file,
             "experiment: small\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: filename_labels, params: {root: train}}\n"
             "    split: {classes: [cat, dog], per_class: {train: 4, val: 1, test: 1}}\n"
             "    input: {size: [16, 16], channels: 3}\n"
             "  backbone: {plugin: basic_cnn, params: {widths: [4]}}\n"
             "  head: {plugin: dense, params: {units: [4]}}\n"
             "  training: {epochs: 2, batch_size: 2}\n"
             "models:\n" +
                 models);
  return file;
}

std::vector<std::string> small_args(const fs::path& file, const TempDir& tmp) {
  return {
      file.string(), "--db", (tmp / "results.db").string(), "--results", (tmp / "results").string(),
      "--threads",   "1"};
}

// --results DIR without --db keeps the database with the artifacts (DIR/results.db), for run,
// status and predict alike; nothing is written to ./results.
TEST(Skip, ResultsWithoutDbKeepsTheDatabaseInTheResultsFolder) {
  TempDir tmp;
  const fs::path file = write_small_experiment(tmp, "  - {name: a, strategy: {plugin: scratch}}\n");
  const std::string results = (tmp / "elsewhere").string();
  const Outcome run = runner({file.string(), "--results", results, "--threads", "1"}, tmp.path());
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_EQ(count_rows(tmp / "elsewhere" / "results.db", "runs"), "1");
  EXPECT_FALSE(fs::exists(tmp / "results")) << "wrote ./results";
  const Outcome status = runner({"status", file.string(), "--results", results}, tmp.path());
  ASSERT_EQ(status.exit_code, 0) << describe(status);
  EXPECT_NE(status.out.find("1 model: 1 completed"), std::string::npos) << status.out;
  const Outcome predict = runner({"predict", "--experiment", "small", "--model", "a", "--results",
                                  results, (tmp / "train").string()},
                                 tmp.path());
  EXPECT_EQ(predict.exit_code, 0) << describe(predict);
  EXPECT_FALSE(fs::exists(tmp / "results")) << "wrote ./results";
}

// A runner killed while writing leaves "<file>.tmp.<host>-<pid>.<n>"; the next run on the host
// removes those of dead processes, and keeps a live process's and another host's.
TEST(Skip, TemporaryFilesOfKilledRunnersAreRemovedAtStart) {
  TempDir tmp;
  const fs::path file = write_small_experiment(tmp, "  - {name: a, strategy: {plugin: scratch}}\n");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof host - 1), 0);
  std::string own = host;
  for (char& c : own) {
    if (c == '/' || c == '-') c = '_';
  }
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // its pid now names a dead process
  const fs::path images = tmp / "results" / "cache" / "images";
  fs::create_directories(images);
  const fs::path dead = images / ("x.bin.tmp." + own + "-" + std::to_string(child) + ".0");
  const fs::path live = images / ("y.bin.tmp." + own + "-" + std::to_string(::getpid()) + ".0");
  const fs::path elsewhere = images / ("z.bin.tmp.otherhost-" + std::to_string(child) + ".0");
  for (const fs::path& p : {dead, live, elsewhere}) write_text(p, "half");
  std::vector<std::string> args = small_args(file, tmp);
  const Outcome run = runner(args, tmp.path());
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  EXPECT_FALSE(fs::exists(dead));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(elsewhere));
  EXPECT_NE(run.err.find("runner: removed 1 temporary file left in "), std::string::npos)
      << run.err;
}

TEST(Skip, RerunTrainsNothingAndANewModelTrainsAlone) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  const std::string two =
      "  - {name: a, strategy: {plugin: scratch}}\n"
      "  - {name: b, strategy: {plugin: scratch}, training: {epochs: 3}}\n";
  fs::path file = write_small_experiment(tmp, two);
  const Outcome first = runner(small_args(file, tmp), tmp.path());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  ASSERT_EQ(count_rows(db, "epochs"), "5");

  const Outcome second = runner(small_args(file, tmp), tmp.path());
  ASSERT_EQ(second.exit_code, 0) << describe(second);
  EXPECT_EQ(count_rows(db, "runs"), "2") << second.err;
  EXPECT_EQ(count_rows(db, "epochs"), "5");
  const std::string a_id = query(db, "SELECT substr(identity, 1, 12) FROM runs WHERE model = 'a'");
  ASSERT_EQ(a_id.size(), 12u);
  EXPECT_NE(second.err.find("[1/2] a: completed as run 1 (" + a_id + "), skipped\n"),
            std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("b: completed as run 2 ("), std::string::npos) << second.err;
  // The table still shows both, and the invocation lists them as skipped.
  EXPECT_NE(second.out.find("a "), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("b "), std::string::npos) << second.out;
  EXPECT_EQ(query(db, "SELECT group_concat(how) FROM experiment_runs WHERE experiment_id = 2"),
            "skipped,skipped");

  // A third model: only it trains.
  file = write_small_experiment(tmp, two + "  - {name: c, strategy: {plugin: scratch}}\n");
  const Outcome third = runner(small_args(file, tmp), tmp.path());
  ASSERT_EQ(third.exit_code, 0) << describe(third);
  EXPECT_EQ(count_rows(db, "runs"), "3") << third.err;
  EXPECT_EQ(query(db, "SELECT model FROM runs WHERE id = 3"), "c");
  EXPECT_NE(third.out.find("c "), std::string::npos) << third.out;

  // A changed value changes the identity of the cells it reaches: b (4 epochs) trains again.
  file =
      write_small_experiment(tmp,
                             "  - {name: a, strategy: {plugin: scratch}}\n"
                             "  - {name: b, strategy: {plugin: scratch}, training: {epochs: 4}}\n"
                             "  - {name: c, strategy: {plugin: scratch}}\n");
  const Outcome fourth = runner(small_args(file, tmp), tmp.path());
  ASSERT_EQ(fourth.exit_code, 0) << describe(fourth);
  EXPECT_EQ(count_rows(db, "runs"), "4");
  EXPECT_EQ(query(db, "SELECT model FROM runs WHERE id = 4"), "b");

  // --rerun NAME forces one; --rerun alone forces all.
  std::vector<std::string> args = small_args(file, tmp);
  args.insert(args.end(), {"--rerun", "a"});
  ASSERT_EQ(runner(args, tmp.path()).exit_code, 0);
  EXPECT_EQ(count_rows(db, "runs"), "5");
  EXPECT_EQ(query(db, "SELECT model FROM runs WHERE id = 5"), "a");
  args = small_args(file, tmp);
  args.emplace_back("--rerun");
  ASSERT_EQ(runner(args, tmp.path()).exit_code, 0);
  EXPECT_EQ(count_rows(db, "runs"), "8");
}

TEST(Skip, DataThatChangesRunsTheCellAgain) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  const fs::path file = write_small_experiment(tmp, "  - {name: a, strategy: {plugin: scratch}}\n");
  ASSERT_EQ(runner(small_args(file, tmp), tmp.path()).exit_code, 0);
  // One more image per class: a new file list, a new fingerprint.
  write_cats_and_dogs(tmp / "train", 7);
  const Outcome o = runner(small_args(file, tmp), tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_EQ(count_rows(db, "runs"), "2") << o.err;
}

TEST(Skip, StatusListsEveryCell) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  fs::path file = write_small_experiment(tmp, "  - {name: a, strategy: {plugin: scratch}}\n");
  ASSERT_EQ(runner(small_args(file, tmp), tmp.path()).exit_code, 0);
  file =
      write_small_experiment(tmp,
                             "  - {name: a, strategy: {plugin: scratch}}\n"
                             "  - {name: b, strategy: {plugin: scratch}, training: {epochs: 3}}\n");
  const Outcome status = runner(
      {"status", file.string(), "--db", db.string(), "--results", (tmp / "results").string()},
      tmp.path());
  ASSERT_EQ(status.exit_code, 0) << describe(status);
  EXPECT_NE(status.out.find("a      completed        1  test acc "), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("b      pending          -  ("), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("2 models: 1 completed, 1 pending\n"), std::string::npos) << status.out;
}

// ---------------------------------------------------------------------------------------------
// Cells in parallel, and several runners on one results.db.

TEST(Jobs, TwoWorkersGiveTheNumbersOfOneProcess) {
  TempDir sequential, parallel;
  write_fashion_mnist(sequential);
  write_fashion_mnist(parallel);
  std::vector<std::string> one = resumable_five_models(sequential);  // --threads 1
  const Outcome a = runner(one, sequential.path());
  ASSERT_EQ(a.exit_code, 0) << describe(a);

  std::vector<std::string> two = resumable_five_models(parallel);
  set_threads(two, 2);  // split over 2 workers: 1 each
  two.insert(two.end(), {"--jobs", "2"});
  const Outcome b = runner(two, parallel.path());
  ASSERT_EQ(b.exit_code, 0) << describe(b);
  const fs::path db = parallel / "results.db";
  EXPECT_EQ(count_rows(db, "runs"), "6");
  EXPECT_EQ(query(db, "SELECT count(DISTINCT pid) FROM runs"), "6") << "one worker per cell";
  EXPECT_EQ(query(db, "SELECT group_concat(DISTINCT threads) FROM runs"), "1");
  // The publisher finished before any model that loads its weights started.
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM runs AS r, runs AS s WHERE s.model = 'source_pretrain' "
                  "AND r.model LIKE 'vgg%' AND r.started_at < s.finished_at"),
            "0");
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "completed");
  expect_same_numbers(numbers_of(sequential / "results.db", "five_models"),
                      numbers_of(db, "five_models"));
  for (const auto& model : kFiveModels) EXPECT_NE(b.out.find(model), std::string::npos) << b.out;
}

TEST(Jobs, ThreeRunnersOnOneDatabaseLoseNoRow) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  const fs::path file = write_small_experiment(tmp,
                                               "  - {name: a, strategy: {plugin: scratch}}\n"
                                               "  - {name: b, strategy: {plugin: scratch}}\n"
                                               "  - {name: c, strategy: {plugin: scratch}}\n");
  std::vector<std::unique_ptr<BackgroundRunner>> runners;
  for (int seed : {1, 2, 3}) {
    // One results.db; separate artifact folders (the kept models of the same names).
    const fs::path results = tmp / ("results" + std::to_string(seed));
    std::vector<std::string> args = {file.string(),        "--db",      db.string(), "--results",
                                     results.string(),     "--threads", "1",         "--seed",
                                     std::to_string(seed), "--quiet"};
    runners.push_back(std::make_unique<BackgroundRunner>(
        args, tmp.path(), std::vector<std::string>{}, "seed" + std::to_string(seed)));
  }
  for (auto& r : runners) EXPECT_EQ(r->wait(), 0) << r->output();
  EXPECT_EQ(count_rows(db, "experiments"), "3");
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "9");
  EXPECT_EQ(count_rows(db, "epochs"), "18");
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM runs AS r WHERE (SELECT count(*) FROM metrics "
                  "WHERE run_id = r.id AND split = 'test') = 0"),
            "0");
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
}

// A failing cell under --jobs: recorded failed with its reason, the others complete, exit 1.
TEST(Jobs, OneFailureDoesNotStopTheOthers) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  // A folder without images: it exists (a missing one is refused before anything runs), and the
  // model fails when its data is read.
  fs::create_directories(tmp / "no_images");
  const fs::path file = write_small_experiment(
      tmp,
      "  - {name: a, strategy: {plugin: scratch}}\n"
      "  - name: broken\n"
      "    strategy: {plugin: scratch}\n"
      "    data: {dataset: {plugin: filename_labels, params: {root: no_images}}}\n"
      "  - {name: c, strategy: {plugin: scratch}}\n");
  std::vector<std::string> args = small_args(file, tmp);
  args.insert(args.end(), {"--jobs", "2"});
  const Outcome o = runner(args, tmp.path());
  EXPECT_EQ(o.exit_code, 1) << describe(o);
  EXPECT_EQ(query(db,
                  "SELECT group_concat(model || ':' || status, ' ') FROM "
                  "(SELECT * FROM runs ORDER BY model)"),
            "a:completed broken:failed c:completed");
  EXPECT_NE(query(db, "SELECT error FROM runs WHERE model = 'broken'").find("no_images"),
            std::string::npos);
  EXPECT_NE(o.err.find("broken: error: "), std::string::npos) << o.err;
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "failed");
}

// Ctrl-C during `--jobs 2`: every worker checkpoints, the coordinator exits 130, a rerun resumes.
TEST(Jobs, CtrlCStopsEveryWorkerCleanly) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  write_cats_and_dogs(tmp / "train", 8);
  const fs::path file = tmp / "two.yaml";
  write_text(file,
             "experiment: two\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: filename_labels, params: {root: train}}\n"
             "    split: {classes: [cat, dog], per_class: {train: 4, val: 2, test: 2}}\n"
             "    input: {size: [16, 16], channels: 3}\n"
             "  backbone: {plugin: basic_cnn, params: {widths: [4]}}\n"
             "  head: {plugin: dense, params: {units: [4]}}\n"
             "  training: {epochs: 100000, batch_size: 2}\n"
             "models:\n"
             "  - {name: x, strategy: {plugin: scratch}}\n"
             "  - {name: y, strategy: {plugin: scratch}, seed: 3}\n");
  BackgroundRunner coordinator({file.string(), "--db", db.string(), "--results",
                                (tmp / "results").string(), "--threads", "2", "--jobs", "2"},
                               tmp.path());
  for (int i = 0; i < 1200; ++i) {
    const std::string n = query(db, "SELECT count(DISTINCT run_id) FROM epochs");
    if (!n.empty() && std::stoi(n) == 2) break;
    usleep(100 * 1000);
  }
  ASSERT_EQ(query(db, "SELECT count(DISTINCT run_id) FROM epochs"), "2") << coordinator.output();
  EXPECT_EQ(coordinator.stop(SIGINT), 130) << coordinator.output();
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM runs WHERE status = 'interrupted' AND error LIKE "
                  "'stopped by SIGINT; checkpointed%'"),
            "2")
      << coordinator.output();
  EXPECT_EQ(query(db, "SELECT status FROM experiments"), "interrupted");
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
}

}  // namespace
