#include "core/store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <string>
#include <thread>
#include <type_traits>

#include "core/store/schema.h"
#include "engine/util/sha256.h"
#include "store/store_fixture.h"
#include "support/expect_throw.h"
#include "tlr/abi.h"
#include "tlr/error.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;
using testing::RawDb;
using testing::StoreTest;

static_assert(std::is_nothrow_move_constructible_v<Store>);
static_assert(std::is_nothrow_move_assignable_v<Store>);
static_assert(!std::is_copy_constructible_v<Store>);
static_assert(!std::is_copy_assignable_v<Store>);

const std::regex kIsoUtc(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)");

using StoreSchema = StoreTest;

TEST_F(StoreSchema, FreshDatabaseGetsSchemaVersionAndWal) {
  {
    Store store = Store::open(db_path_);
    EXPECT_EQ(store.schema_version(), Store::latest_schema_version());
    EXPECT_EQ(Store::latest_schema_version(), 6);
  }
  ASSERT_TRUE(fs::exists(db_path_)) << "parent directories are created";
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("PRAGMA user_version"), "6");
  EXPECT_EQ(raw.value("PRAGMA journal_mode"), "wal");
  for (const char* table :
       {"experiments", "runs", "epochs", "metrics", "confusion", "artifacts", "run_plugins",
        "experiment_runs", "file_hashes", "predictions", "model_statistics", "mcnemar_tests",
        "evaluations", "evaluation_metrics", "evaluation_confusion"}) {
    EXPECT_EQ(raw.value(std::string("SELECT type FROM sqlite_master WHERE name = '") + table + "'"),
              "table")
        << table;
  }
  for (const char* view : {"run_summary", "latest_runs"}) {
    EXPECT_EQ(raw.value(std::string("SELECT type FROM sqlite_master WHERE name = '") + view + "'"),
              "view")
        << view;
  }
}

TEST_F(StoreSchema, ReopeningIsANoOp) {
  std::int64_t experiment = 0;
  {
    Store store = Store::open(db_path_);
    experiment = store.begin_experiment("five_models", "experiments/five_models.yaml", "seed: 1");
  }
  RawDb before(db_path_);
  const std::string schema = before.value("SELECT group_concat(sql, ';') FROM sqlite_master");
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.schema_version(), 6);
  EXPECT_EQ(before.value("SELECT group_concat(sql, ';') FROM sqlite_master"), schema);
  EXPECT_EQ(before.value("SELECT count(*) FROM experiments"), "1");
  EXPECT_EQ(store.latest_experiment(), "five_models");
  EXPECT_GT(experiment, 0);
}

TEST_F(StoreSchema, MigratesAnEmptyVersionZeroDatabase) {
  fs::create_directories(fs::path(db_path_).parent_path());
  {
    RawDb raw(db_path_);
    raw.exec("CREATE TABLE notes (text TEXT); PRAGMA user_version = 0");
  }
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.schema_version(), 6);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count(*) FROM runs"), "0");
  EXPECT_EQ(raw.value("SELECT count(*) FROM notes"), "0") << "unrelated tables are kept";
}

// A results.db written by a runner of schema 1 keeps its rows: its runs were on the CPU (the new
// device column says so) and record no plugin libraries.
TEST_F(StoreSchema, MigratesAVersionOneDatabaseKeepingItsRuns) {
  fs::create_directories(fs::path(db_path_).parent_path());
  {
    RawDb raw(db_path_);
    raw.exec(std::string(store_detail::migrations().at(0).sql) + "; PRAGMA user_version = 1");
    raw.exec(
        "INSERT INTO experiments (name, file, yaml, host, pid) VALUES ('e', 'e.yaml', '', 'h', 1);"
        "INSERT INTO runs (experiment_id, model, strategy, backbone, config_json, config_hash, "
        "seed, status, host, pid, versions, threads) VALUES (1, 'm', 'scratch', 'basic_cnn', "
        "'{}', 'h', 1, 'completed', 'h', 1, '{}', 2)");
  }
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.schema_version(), 6);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT model || ' ' || status || ' ' || device FROM runs"),
            "m completed cpu");
  EXPECT_TRUE(store.plugins(1).empty());
}

// A results.db of schema 2 keeps its runs: they have no identity (NULL), so no later invocation
// reuses or resumes them, were never resumed, and belong to no experiment_runs row.
TEST_F(StoreSchema, MigratesAVersionTwoDatabaseKeepingItsRuns) {
  fs::create_directories(fs::path(db_path_).parent_path());
  {
    RawDb raw(db_path_);
    raw.exec(std::string(store_detail::migrations().at(0).sql) + ";" +
             store_detail::migrations().at(1).sql + "; PRAGMA user_version = 2");
    raw.exec(
        "INSERT INTO experiments (name, file, yaml, host, pid) VALUES ('e', 'e.yaml', '', 'h', 1);"
        "INSERT INTO runs (experiment_id, model, strategy, backbone, config_json, config_hash, "
        "seed, status, host, pid, versions, threads, device) VALUES (1, 'm', 'scratch', "
        "'basic_cnn', '{}', 'h', 1, 'completed', 'h', 1, '{}', 2, 'cuda:0');"
        "INSERT INTO epochs (run_id, phase, epoch, val_acc) VALUES (1, 'train', 1, 0.5)");
  }
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.schema_version(), 6);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT model || ' ' || status || ' ' || device || ' ' || "
                      "ifnull(identity, 'null') || ' ' || resumes FROM runs"),
            "m completed cuda:0 null 0");
  EXPECT_EQ(raw.value("SELECT count(*) FROM epochs"), "1");
  EXPECT_EQ(raw.value("SELECT count(*) FROM experiment_runs"), "0");
  EXPECT_EQ(raw.value("SELECT count(*) FROM file_hashes"), "0");
  EXPECT_EQ(raw.value("SELECT name FROM sqlite_master WHERE name = 'runs_by_identity'"),
            "runs_by_identity");
  EXPECT_EQ(store.summary(1).identity, "");
  EXPECT_EQ(store.completed_run(""), std::nullopt) << "a NULL identity matches nothing";
  EXPECT_EQ(raw.value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.value("SELECT count(*) FROM pragma_foreign_key_check"), "0");
}

// A results.db of schema 3 keeps its runs: each is replicate 0 of its model (what a run without
// replicates is), has no predictions, and the views still list it.
TEST_F(StoreSchema, MigratesAVersionThreeDatabaseKeepingItsRuns) {
  fs::create_directories(fs::path(db_path_).parent_path());
  {
    RawDb raw(db_path_);
    std::string sql;
    for (int v = 0; v < 3; ++v) sql += std::string(store_detail::migrations().at(v).sql) + ";";
    raw.exec(sql + "PRAGMA user_version = 3");
    raw.exec(
        "INSERT INTO experiments (name, file, yaml, host, pid) VALUES ('e', 'e.yaml', '', 'h', 1);"
        "INSERT INTO runs (experiment_id, model, strategy, backbone, config_json, config_hash, "
        "seed, status, host, pid, versions, threads, identity) VALUES (1, 'm', 'scratch', "
        "'basic_cnn', '{}', 'h', 1, 'completed', 'h', 1, '{}', 2, 'abc');"
        "INSERT INTO metrics (run_id, split, name, value) VALUES (1, 'test', 'accuracy', 0.75)");
  }
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.schema_version(), 6);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT model || ' ' || replicate || ' ' || identity FROM runs"), "m 0 abc");
  EXPECT_EQ(raw.value("SELECT test_accuracy || ' ' || replicate FROM latest_runs"), "0.75 0");
  EXPECT_EQ(raw.value("SELECT count(*) FROM predictions"), "0");
  EXPECT_EQ(raw.value("SELECT ifnull(compare_to, 'null') FROM experiments"), "null");
  EXPECT_EQ(store.summaries("e").at(0).replicate, 0);
  EXPECT_TRUE(store.predictions(1, "test").empty());
  EXPECT_EQ(raw.value("PRAGMA integrity_check"), "ok");
}

// A results.db of schema 4 keeps its runs: each computed in fp32 (all runs did before schema 5),
// and the views gain the device and the precision.
TEST_F(StoreSchema, MigratesAVersionFourDatabaseKeepingItsRuns) {
  fs::create_directories(fs::path(db_path_).parent_path());
  {
    RawDb raw(db_path_);
    std::string sql;
    for (int v = 0; v < 4; ++v) sql += std::string(store_detail::migrations().at(v).sql) + ";";
    raw.exec(sql + "PRAGMA user_version = 4");
    raw.exec(
        "INSERT INTO experiments (name, file, yaml, host, pid) VALUES ('e', 'e.yaml', '', 'h', 1);"
        "INSERT INTO runs (experiment_id, model, strategy, backbone, config_json, config_hash, "
        "seed, status, host, pid, versions, threads, identity, replicate) VALUES (1, 'm', "
        "'scratch', 'basic_cnn', '{}', 'h', 1, 'completed', 'h', 1, '{}', 2, 'abc', 2);"
        "INSERT INTO metrics (run_id, split, name, value) VALUES (1, 'test', 'accuracy', 0.75)");
  }
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.schema_version(), 6);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT model || ' ' || replicate || ' ' || compute_precision FROM runs"),
            "m 2 fp32");
  EXPECT_EQ(raw.value("SELECT test_accuracy || ' ' || device || ' ' || compute_precision FROM "
                      "latest_runs"),
            "0.75 cpu fp32");
  const RunSummary summary = store.summaries("e").at(0);
  EXPECT_EQ(summary.precision, "fp32");
  EXPECT_EQ(summary.device, "cpu");
  EXPECT_EQ(summary.replicate, 2);
  // A new run records what it computed in.
  RunStart bf16 = run_of(1, "n");
  bf16.precision = "bf16";
  EXPECT_EQ(store.summary(store.begin_run(bf16)).precision, "bf16");
  EXPECT_EQ(raw.value("PRAGMA integrity_check"), "ok");
}

TEST_F(StoreSchema, RefusesANewerSchemaVersion) {
  fs::create_directories(fs::path(db_path_).parent_path());
  {
    RawDb raw(db_path_);
    raw.exec("PRAGMA user_version = 7");
  }
  EXPECT_THROW_MSG(Store::open(db_path_), Error,
                   db_path_ +
                       ": error: results database schema version 7 is newer than this runner "
                       "(6); upgrade tlr");
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("PRAGMA user_version"), "7") << "a refused database is left untouched";
}

TEST_F(StoreSchema, CorruptFileIsOneLineErrorNamingThePath) {
  fs::create_directories(fs::path(db_path_).parent_path());
  std::ofstream(db_path_) << std::string(4096, 'x');
  EXPECT_THROW_MSG(Store::open(db_path_), Error,
                   db_path_ + ": error: cannot open results database: file is not a database");
}

TEST_F(StoreSchema, DirectoryInsteadOfFileIsAnError) {
  fs::create_directories(db_path_);
  // The rest of the message is SQLite's: one line.
  EXPECT_THROW_THAT(
      Store::open(db_path_), Error,
      ::testing::AllOf(::testing::StartsWith(db_path_ + ": error: cannot open results database: "),
                       ::testing::Not(::testing::HasSubstr("\n"))));
}

using StoreRuns = StoreTest;

TEST_F(StoreRuns, RunningToCompletedWithFinalMetrics) {
  Store store = Store::open(db_path_);
  const auto experiment = store.begin_experiment("exp", "exp.yaml", "experiment: exp");
  const auto run = store.begin_run(run_of(experiment, "scratch"));
  RunSummary started = store.summary(run);
  EXPECT_EQ(started.status, RunStatus::kRunning);
  EXPECT_TRUE(std::regex_match(started.started_at, kIsoUtc)) << started.started_at;
  EXPECT_EQ(started.finished_at, "");
  EXPECT_FALSE(started.wall_seconds);

  store.finish_run(run, RunStatus::kCompleted, "",
                   {{"test", "accuracy", 0.9}, {"model", "trainable_params", 1234}});
  RunSummary done = store.summary(run);
  EXPECT_EQ(done.status, RunStatus::kCompleted);
  EXPECT_EQ(done.error, "");
  EXPECT_TRUE(std::regex_match(done.finished_at, kIsoUtc)) << done.finished_at;
  ASSERT_TRUE(done.wall_seconds);
  EXPECT_GE(*done.wall_seconds, 0.0);
  EXPECT_EQ(done.test_accuracy, 0.9);
  EXPECT_EQ(done.trainable_params, 1234);

  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT error FROM runs"), "<null>");
  EXPECT_EQ(raw.value("SELECT json_extract(versions, '$.sdk_abi') FROM runs"),
            std::to_string(TLR_ABI_VERSION));
  EXPECT_EQ(raw.value("SELECT json_extract(config_json, '$.training.epochs') FROM runs"), "3");
  EXPECT_EQ(raw.value("SELECT host = '' OR pid = 0 FROM runs"), "0");

  store.finish_experiment(experiment, RunStatus::kCompleted);
  EXPECT_EQ(raw.value("SELECT status FROM experiments"), "completed");
  EXPECT_TRUE(std::regex_match(raw.value("SELECT finished_at FROM experiments"), kIsoUtc));
}

TEST_F(StoreRuns, FailedRunKeepsItsError) {
  std::int64_t run = 0;
  {
    Store store = Store::open(db_path_);
    run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "vgg"));
    store.finish_run(run, RunStatus::kFailed, "weights/vgg.pth: error: no such file");
  }
  Store store = Store::open(db_path_);
  const RunSummary failed = store.summary(run);
  EXPECT_EQ(failed.status, RunStatus::kFailed);
  EXPECT_EQ(failed.error, "weights/vgg.pth: error: no such file");
  EXPECT_EQ(store.summaries("exp").at(0).error, "weights/vgg.pth: error: no such file");
}

TEST_F(StoreRuns, FinishingTwiceIsRefusedAndWritesNothing) {
  Store store = Store::open(db_path_);
  const auto run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "m"));
  store.finish_run(run, RunStatus::kFailed, "boom");
  EXPECT_THROW_MSG(
      store.finish_run(run, RunStatus::kCompleted, "", {{"test", "accuracy", 1.0}}), Error,
      db_path_ + ": error: cannot finish run " + std::to_string(run) + ": it is already failed");
  EXPECT_TRUE(store.metrics(run, "test").empty()) << "the metrics rolled back with the status";
  EXPECT_EQ(store.summary(run).error, "boom");
  EXPECT_THROW_MSG(store.finish_run(999, RunStatus::kCompleted, ""), Error,
                   db_path_ + ": error: cannot finish run 999: no such run");
  EXPECT_THROW_MSG(store.finish_run(run, RunStatus::kRunning, ""), Error,
                   db_path_ + ": error: cannot finish run " + std::to_string(run) +
                       ": a final status cannot be 'running'");
}

TEST_F(StoreRuns, RunOfUnknownExperimentIsRefused) {
  Store store = Store::open(db_path_);
  EXPECT_THROW_MSG(
      store.begin_run(run_of(41, "m")), Error,
      db_path_ + ": error: cannot record run of model 'm': FOREIGN KEY constraint failed");
}

// A pid that certainly belongs to no process: a child that has exited and been reaped.
std::int64_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  int status = 0;
  waitpid(child, &status, 0);
  return child;
}

TEST_F(StoreRuns, MarkStaleRunsInterruptsRunsOfDeadProcesses) {
  std::int64_t dead_run = 0, live_run = 0, remote_run = 0, finished_run = 0, experiment = 0;
  {
    Store store = Store::open(db_path_);
    experiment = store.begin_experiment("exp", "exp.yaml", "");
    dead_run = store.begin_run(run_of(experiment, "a"));
    live_run = store.begin_run(run_of(experiment, "b"));
    remote_run = store.begin_run(run_of(experiment, "c"));
    finished_run = store.begin_run(run_of(experiment, "d"));
    store.finish_run(finished_run, RunStatus::kCompleted, "");
    EXPECT_EQ(store.mark_stale_runs(), 0) << "this process is alive";
  }
  const std::int64_t pid = dead_pid();
  {
    RawDb raw(db_path_);
    const std::string dead = std::to_string(pid);
    raw.exec("UPDATE runs SET pid = " + dead + " WHERE id IN (" + std::to_string(dead_run) + ", " +
             std::to_string(remote_run) + ", " + std::to_string(finished_run) + ")");
    raw.exec("UPDATE runs SET host = 'elsewhere' WHERE id = " + std::to_string(remote_run));
    raw.exec("UPDATE experiments SET pid = " + dead);
  }
  Store store = Store::open(db_path_);  // open() marks stale runs
  const RunSummary interrupted = store.summary(dead_run);
  EXPECT_EQ(interrupted.status, RunStatus::kInterrupted);
  EXPECT_NE(interrupted.error.find("process " + std::to_string(pid)), std::string::npos)
      << interrupted.error;
  EXPECT_EQ(store.summary(live_run).status, RunStatus::kRunning);
  EXPECT_EQ(store.summary(remote_run).status, RunStatus::kRunning)
      << "a pid on another host cannot be checked";
  EXPECT_EQ(store.summary(finished_run).status, RunStatus::kCompleted);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT status FROM experiments"), "interrupted");
  EXPECT_EQ(store.mark_stale_runs(), 0);
}

using StoreEpochs = StoreTest;

TEST_F(StoreEpochs, RecordedInOrderWithNullsForUnmeasured) {
  Store store = Store::open(db_path_);
  const auto run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "ft"));
  EpochRow source = epoch_of("frozen", 1, 0.6);
  source.val_loss.reset();
  source.val_acc.reset();
  store.record_epoch(run, source);
  store.record_epoch(run, epoch_of("frozen", 2, 0.7));
  store.record_epoch(run, epoch_of("fine_tune", 1, 0.8));

  const auto rows = store.epochs(run);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].phase, "frozen");
  EXPECT_EQ(rows[0].epoch, 1);
  EXPECT_FALSE(rows[0].val_acc);
  EXPECT_FALSE(rows[0].val_loss);
  EXPECT_EQ(rows[0].train_loss, 1.0);
  EXPECT_EQ(rows[1].val_acc, 0.7);
  EXPECT_EQ(rows[2].phase, "fine_tune");
  EXPECT_EQ(rows[2].epoch, 1);
  EXPECT_EQ(rows[2].images_per_second, 100.0);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT val_acc IS NULL FROM epochs WHERE phase = 'frozen' AND epoch = 1"),
            "1");
}

TEST_F(StoreEpochs, SamePhaseAndEpochTwiceViolatesUnique) {
  Store store = Store::open(db_path_);
  const auto run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "ft"));
  store.record_epoch(run, epoch_of("train", 1, 0.5));
  EXPECT_THROW_MSG(store.record_epoch(run, epoch_of("train", 1, 0.6)), Error,
                   db_path_ + ": error: cannot record train epoch 1 of run " + std::to_string(run) +
                       ": UNIQUE constraint failed: epochs.run_id, epochs.phase, epochs.epoch");
  EXPECT_EQ(store.epochs(run).size(), 1u);
  EXPECT_THROW_MSG(store.record_epoch(run + 100, epoch_of("train", 1, 0.5)), Error,
                   db_path_ + ": error: cannot record train epoch 1 of run " +
                       std::to_string(run + 100) + ": FOREIGN KEY constraint failed");
}

using StoreViews = StoreTest;

TEST_F(StoreViews, RunSummaryAggregatesEpochsAndMetrics) {
  Store store = Store::open(db_path_);
  const auto experiment = store.begin_experiment("five_models", "five.yaml", "");
  const auto run = store.begin_run(run_of(experiment, "fine_tune"));
  store.record_epoch(run, epoch_of("frozen", 1, 0.70));
  store.record_epoch(run, epoch_of("frozen", 2, 0.85));
  store.record_epoch(run, epoch_of("fine_tune", 1, 0.80));
  store.record_metrics(run, "model", {{"trainable_params", 40962}, {"total_params", 1000000}});
  store.finish_run(run, RunStatus::kCompleted, "",
                   {{"test", "accuracy", 0.91},
                    {"test", "precision", 0.92},
                    {"test", "recall", 0.90},
                    {"test", "f1", 0.91},
                    {"test", "precision/Shirt", 0.88}});

  const auto rows = store.summaries();  // "" = the latest experiment
  ASSERT_EQ(rows.size(), 1u);
  const RunSummary& s = rows[0];
  EXPECT_EQ(s.experiment, "five_models");
  EXPECT_EQ(s.experiment_id, experiment);
  EXPECT_EQ(s.run_id, run);
  EXPECT_EQ(s.model, "fine_tune");
  EXPECT_EQ(s.strategy, "fine_tune");
  EXPECT_EQ(s.backbone, "vgg");
  EXPECT_EQ(s.status, RunStatus::kCompleted);
  EXPECT_EQ(s.best_val_acc, 0.85);
  EXPECT_EQ(s.test_accuracy, 0.91);
  EXPECT_EQ(s.test_precision, 0.92);
  EXPECT_EQ(s.test_recall, 0.90);
  EXPECT_EQ(s.test_f1, 0.91);
  EXPECT_EQ(s.epochs_run, 3);
  ASSERT_TRUE(s.mean_images_per_second);
  EXPECT_DOUBLE_EQ(*s.mean_images_per_second, (100.0 + 200.0 + 100.0) / 3);
  EXPECT_EQ(s.trainable_params, 40962);
  EXPECT_EQ(s.seed, 42);
  EXPECT_EQ(s.error, "");

  // The view's column names are what users type in sqlite3.
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT printf('%s %s %.2f %.2f %d %d', experiment, model, best_val_acc, "
                      "test_f1, epochs_run, trainable_params) FROM run_summary"),
            "five_models fine_tune 0.85 0.91 3 40962");
  EXPECT_EQ(store.metrics(run, "test").front(), (std::pair<std::string, double>("accuracy", 0.91)));
  store.record_metrics(run, "val", {{"loss", std::numeric_limits<double>::quiet_NaN()}});
  EXPECT_TRUE(std::isnan(store.metrics(run, "val").at(0).second));
}

TEST_F(StoreViews, LatestRunsKeepsTheNewestRunPerModel) {
  Store store = Store::open(db_path_);
  const auto first = store.begin_experiment("exp", "exp.yaml", "");
  const auto old_a = store.begin_run(run_of(first, "a"));
  store.finish_run(old_a, RunStatus::kFailed, "diverged");
  const auto b = store.begin_run(run_of(first, "b"));
  store.finish_run(b, RunStatus::kCompleted, "");
  store.finish_experiment(first, RunStatus::kFailed);
  const auto other = store.begin_experiment("other", "other.yaml", "");
  store.finish_run(store.begin_run(run_of(other, "a")), RunStatus::kCompleted, "");
  const auto second = store.begin_experiment("exp", "exp.yaml", "");  // re-run of model a only
  const auto new_a = store.begin_run(run_of(second, "a"));
  store.finish_run(new_a, RunStatus::kCompleted, "", {{"test", "accuracy", 0.75}});

  EXPECT_EQ(store.latest_experiment(), "exp");
  const auto rows = store.summaries("exp");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].run_id, b);
  EXPECT_EQ(rows[1].run_id, new_a);
  EXPECT_EQ(rows[1].test_accuracy, 0.75);
  EXPECT_EQ(store.summaries("other").size(), 1u);
  EXPECT_TRUE(store.summaries("missing").empty());
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count(*) FROM run_summary"), "4");
  EXPECT_EQ(raw.value("SELECT count(*) FROM latest_runs"), "3");
}

TEST_F(StoreViews, LatestRunsKeepsTheNewestRunOfEachReplicate) {
  Store store = Store::open(db_path_);
  const auto first = store.begin_experiment("exp", "exp.yaml", "");
  std::vector<std::int64_t> ids;
  for (int replicate : {0, 1, 2, 1}) {  // replicate 1 twice: the second run replaces it
    RunStart run = run_of(first, "a");
    run.replicate = replicate;
    ids.push_back(store.begin_run(run));
  }
  const auto rows = store.summaries("exp");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].run_id, ids[0]);
  EXPECT_EQ(rows[1].run_id, ids[2]);
  EXPECT_EQ(rows[2].run_id, ids[3]);
  EXPECT_EQ(rows[2].replicate, 1);
  EXPECT_EQ(store.summary(ids[2]).replicate, 2);
}

TEST_F(StoreViews, EmptyDatabaseHasNoLatestExperiment) {
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.latest_experiment(), std::nullopt);
  EXPECT_TRUE(store.summaries().empty());
}

using StoreResults = StoreTest;

TEST_F(StoreResults, ConfusionMatrixRoundTripsAndIsReplaced) {
  Store store = Store::open(db_path_);
  const auto run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "m"));
  EXPECT_EQ(store.confusion(run), std::nullopt);
  store.record_confusion(run, "test", {"T-shirt/top", "Shirt"}, {{1, 2}, {3, 4}});
  store.record_confusion(run, "test", {"T-shirt/top", "Shirt"}, {{450, 50}, {0, 500}});
  const auto matrix = store.confusion(run);
  ASSERT_TRUE(matrix);
  EXPECT_EQ(matrix->classes, (std::vector<std::string>{"T-shirt/top", "Shirt"}));
  EXPECT_EQ(matrix->counts, (std::vector<std::vector<std::int64_t>>{{450, 50}, {0, 500}}));
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count FROM confusion WHERE true_class = 'T-shirt/top' AND "
                      "predicted_class = 'Shirt'"),
            "50");
  EXPECT_EQ(raw.value("SELECT count(*) FROM confusion"), "4");
  EXPECT_THROW_MSG(store.record_confusion(run, "val", {"a", "b"}, {{1, 2}}), Error,
                   db_path_ + ": error: cannot record val confusion matrix of run " +
                       std::to_string(run) + ": expected a 2x2 matrix for 2 classes");
}

TEST_F(StoreResults, PredictionsRoundTripAndAreReplacedPerSplit) {
  Store store = Store::open(db_path_);
  const auto run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "m"));
  EXPECT_TRUE(store.predictions(run, "test").empty());
  store.record_predictions(run, "test", {{0, "a.png", 1, 0, {0.75f, 0.25f}}});
  const std::vector<Prediction> rows = {{0, "a.png", 1, 1, {0.125f, 0.875f}},
                                        {1, "b.png", 0, 0, {0.9f, 0.1f}}};
  store.record_predictions(run, "test", rows);
  store.record_predictions(run, "val", {{0, "c.png", 0, 1, {0.4f, 0.6f}}});
  const auto back = store.predictions(run, "test");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].sample_id, "b.png");
  EXPECT_EQ(back[0].predicted_label, 1);
  EXPECT_EQ(back[1].probabilities, (std::vector<float>{0.9f, 0.1f})) << "floats round-trip";
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count(*) FROM predictions"), "3");
  // The score is the predicted class's probability, and SQL reads the vector.
  EXPECT_EQ(raw.value("SELECT score FROM predictions WHERE split = 'test' AND sample = 0"),
            "0.875");
  EXPECT_EQ(raw.value("SELECT json_extract(probabilities, '$[1]') FROM predictions WHERE split = "
                      "'val'"),
            "0.600000024");
}

TEST_F(StoreResults, StatisticsAreReplacedPerInvocation) {
  Store store = Store::open(db_path_);
  const auto invocation = store.begin_experiment("exp", "exp.yaml", "");
  store.set_compare_to(invocation, "base");
  EXPECT_EQ(store.compare_to(invocation), "base");
  EXPECT_EQ(store.latest_invocation("exp"), invocation);
  EXPECT_EQ(store.latest_invocation("missing"), std::nullopt);
  stats::ModelStatistics base;
  base.model = "base";
  base.replicates = 1;
  base.is_baseline = true;
  base.accuracy = {100, 0.5, std::nan(""), 0.4, 0.6, "wilson"};
  base.f1 = {1, 0.5, std::nan(""), std::nan(""), std::nan(""), ""};
  stats::ModelStatistics other = base;
  other.model = "other";
  other.is_baseline = false;
  stats::Comparison comparison;
  comparison.baseline = "base";
  comparison.pairs = 1;
  comparison.difference = 0.1;
  comparison.test = "mcnemar_exact";
  comparison.p = 0.02;
  comparison.p_holm = 0.02;
  comparison.verdict = "better";
  comparison.mcnemar = {{0, 2, 1, 100, 12, 2, 0.02}};
  other.comparison = comparison;
  store.record_statistics(invocation, {base, other});
  store.record_statistics(invocation, {base, other});  // replaced, not added
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT group_concat(model || ' ' || verdict, ', ') FROM model_statistics"),
            "base baseline, other better");
  EXPECT_EQ(raw.value("SELECT ifnull(accuracy_sd, 'null') FROM model_statistics LIMIT 1"), "null");
  EXPECT_EQ(raw.value("SELECT model_only || ' ' || baseline_only || ' ' || p FROM mcnemar_tests"),
            "12 2 0.02");
}

TEST_F(StoreResults, ArtifactRecordsChecksumAndSize) {
  Store store = Store::open(db_path_);
  const auto run = store.begin_run(run_of(store.begin_experiment("exp", "exp.yaml", ""), "m"));
  const std::string file = (dir_ / "best.pt").string();
  std::ofstream(file) << "abc";
  store.record_artifact(run, "checkpoint", file);
  std::ofstream(file, std::ios::app) << "def";
  store.record_artifact(run, "checkpoint", file);  // rewritten checkpoint: one row, new digest
  const auto artifacts = store.artifacts(run);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].kind, "checkpoint");
  EXPECT_EQ(artifacts[0].path, file);
  EXPECT_EQ(artifacts[0].sha256, sha256_hex("abcdef", 6));
  EXPECT_EQ(artifacts[0].bytes, 6);
  const std::string missing = (dir_ / "missing.pt").string();
  EXPECT_THROW_MSG(store.record_artifact(run, "checkpoint", missing), Error,
                   missing + ": error: cannot read file");
}

using StoreWal = StoreTest;

// The report (or a user's sqlite3 shell) reads while a run writes epochs: the reader sees the run
// as 'running' with the epochs committed so far, and neither side gets SQLITE_BUSY.
TEST_F(StoreWal, RunInProgressIsVisibleFromASecondConnection) {
  Store writer = Store::open(db_path_);
  const auto run = writer.begin_run(run_of(writer.begin_experiment("exp", "exp.yaml", ""), "m"));
  writer.record_epoch(run, epoch_of("train", 1, 0.5));

  Store reader = Store::open(db_path_);  // its mark_stale_runs must leave a live run alone
  EXPECT_EQ(reader.summary(run).status, RunStatus::kRunning);
  EXPECT_EQ(reader.summary(run).epochs_run, 1);

  constexpr int kEpochs = 40;
  std::atomic<bool> done{false};
  std::thread training([&] {
    EXPECT_NO_THROW(for (int epoch = 2; epoch <= kEpochs;
                         ++epoch) { writer.record_epoch(run, epoch_of("train", epoch, 0.5)); });
    done = true;
  });
  std::int64_t last_seen = 1;
  while (!done && !HasFailure()) {
    EXPECT_NO_THROW({
      const RunSummary seen = reader.summary(run);
      EXPECT_EQ(seen.status, RunStatus::kRunning);
      EXPECT_GE(seen.epochs_run, last_seen) << "committed epochs never disappear";
      last_seen = seen.epochs_run;
    });
  }
  training.join();
  EXPECT_EQ(reader.summary(run).epochs_run, kEpochs);

  // A writer holding an open transaction does not block readers, who see the last commit.
  RawDb other(db_path_);
  other.exec("BEGIN IMMEDIATE");
  other.exec("INSERT INTO epochs (run_id, phase, epoch) VALUES (" + std::to_string(run) +
             ", 'train', 999)");
  EXPECT_EQ(reader.epochs(run).size(), static_cast<std::size_t>(kEpochs));
  other.exec("COMMIT");
  EXPECT_EQ(reader.epochs(run).size(), static_cast<std::size_t>(kEpochs + 1));

  writer.finish_run(run, RunStatus::kCompleted, "");
  EXPECT_EQ(reader.summary(run).status, RunStatus::kCompleted);
}

TEST(StoreStatus, StringsMatchTheSchema) {
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kInterrupted}) {
    EXPECT_EQ(run_status_from_string(to_string(s)), s);
  }
  EXPECT_THROW_MSG(run_status_from_string("done"), Error, "error: unknown run status 'done'");
}

}  // namespace
}  // namespace tlr
