// merge_shards (core/store/merge.h): shards written through the Store API the way a Slurm task
// writes its own, merged into a results database; what is copied, renumbered, skipped, updated,
// and that a failed merge changes nothing.
#include "core/store/merge.h"

#include <gtest/gtest.h>

#include <fstream>

#include "store/store_fixture.h"
#include "tlr/error.h"

namespace tlr::testing {
namespace {

class MergeTest : public StoreTest {
 protected:
  std::string shard_path(const std::string& name) const {
    return (dir_ / "shards" / (name + ".db")).string();
  }

  // One task's shard: its invocation and one run of `model` with identity `identity`, two
  // epochs, test metrics, a confusion matrix, predictions and an artifact, finished as `status`.
  std::int64_t write_shard(const std::string& name, const std::string& model,
                           const std::string& identity, RunStatus status) {
    Store shard = Store::open(shard_path(name));
    const std::int64_t experiment = shard.begin_experiment("exp", "exp.yaml", "experiment: exp\n");
    RunStart start = run_of(experiment, model);
    start.identity = identity;
    const std::int64_t run = shard.begin_run(start);
    shard.link_run(experiment, run, "ran");
    shard.record_epoch(run, epoch_of("train", 1, 0.5));
    shard.record_epoch(run, epoch_of("train", 2, 0.75));
    shard.record_confusion(run, "test", {"cat", "dog"}, {{3, 1}, {0, 4}});
    std::vector<Prediction> predictions;
    for (int i = 0; i < 8; ++i) {
      predictions.push_back({i, "img" + std::to_string(i), i % 2, i % 2, {0.25F, 0.75F}});
    }
    shard.record_predictions(run, "test", predictions);
    const fs::path artifact = dir_ / (model + ".pt");
    std::ofstream(artifact) << "weights of " << model;
    shard.record_artifact(run, "model", artifact.string());
    if (status != RunStatus::kRunning) {
      shard.finish_run(run, status, status == RunStatus::kFailed ? "out of memory" : "",
                       {{"test", "accuracy", 0.875}, {"test", "f1", 0.8}});
    }
    shard.finish_experiment(experiment,
                            status == RunStatus::kRunning ? RunStatus::kInterrupted : status);
    return run;
  }

  MergeOutcome merge(const std::vector<std::string>& shards) {
    Store into = Store::open(db_path_);
    return merge_shards(into, shards);
  }
};

TEST_F(MergeTest, CopiesEveryRowOfEveryRunRenumbered) {
  write_shard("a", "scratch", "id-a", RunStatus::kCompleted);
  write_shard("b", "frozen", "id-b", RunStatus::kFailed);
  {
    // The target already has a run, so the shards' run 1s must get new ids.
    Store into = Store::open(db_path_);
    const std::int64_t e = into.begin_experiment("other", "o.yaml", "experiment: other\n");
    into.finish_run(into.begin_run(run_of(e, "local")), RunStatus::kCompleted, "");
  }
  const MergeOutcome outcome = merge({shard_path("a"), shard_path("b")});
  EXPECT_EQ(outcome.shards, 2);
  EXPECT_EQ(outcome.added, 2);
  EXPECT_EQ(outcome.completed, 1);
  EXPECT_EQ(outcome.failed, 1);
  EXPECT_EQ(outcome.experiments_added, 2);
  EXPECT_EQ(describe(outcome),
            "2 shards: 2 added, 0 updated (1 completed, 1 failed), 0 unchanged, 0 already "
            "completed here as other runs");

  RawDb db(db_path_);
  EXPECT_EQ(db.value("SELECT count(*) FROM runs"), "3");
  EXPECT_EQ(db.value("SELECT group_concat(model || ':' || status || ':' || experiment_id, ' ') "
                     "FROM (SELECT * FROM runs ORDER BY id)"),
            "local:completed:1 scratch:completed:2 frozen:failed:3");
  EXPECT_EQ(db.value("SELECT error FROM runs WHERE model = 'frozen'"), "out of memory");
  for (const char* table : {"epochs", "confusion", "predictions", "artifacts"}) {
    SCOPED_TRACE(table);
    EXPECT_EQ(db.value(std::string("SELECT count(DISTINCT run_id) FROM ") + table), "2");
  }
  EXPECT_EQ(db.value("SELECT count(*) FROM epochs"), "4");
  EXPECT_EQ(db.value("SELECT count(*) FROM predictions WHERE run_id = 2"), "8");
  EXPECT_EQ(db.value("SELECT sum(count) FROM confusion WHERE run_id = 2"), "8");
  EXPECT_EQ(db.value("SELECT test_accuracy FROM run_summary WHERE model = 'scratch'"), "0.875");
  EXPECT_EQ(db.value("SELECT path FROM artifacts WHERE run_id = 2"),
            (dir_ / "scratch.pt").string());
  EXPECT_EQ(db.value("SELECT group_concat(experiment_id || '/' || run_id || '/' || how) FROM "
                     "experiment_runs"),
            "2/2/ran,3/3/ran");
  EXPECT_EQ(db.value("PRAGMA foreign_key_check"), "<none>");
  EXPECT_EQ(db.value("PRAGMA integrity_check"), "ok");
}

TEST_F(MergeTest, MergingTheSameShardsAgainAddsNothing) {
  write_shard("a", "scratch", "id-a", RunStatus::kCompleted);
  write_shard("b", "frozen", "id-b", RunStatus::kFailed);
  merge({shard_path("a"), shard_path("b")});
  RawDb db(db_path_);
  const std::string before = db.value(
      "SELECT (SELECT count(*) FROM runs) || '/' || (SELECT count(*) FROM epochs) || '/' "
      "|| (SELECT count(*) FROM predictions) || '/' || (SELECT count(*) FROM "
      "experiments) || '/' || (SELECT count(*) FROM experiment_runs)");
  const MergeOutcome again = merge({shard_path("a"), shard_path("b")});
  EXPECT_EQ(again.added, 0);
  EXPECT_EQ(again.updated, 0);
  EXPECT_EQ(again.unchanged, 2);
  EXPECT_EQ(again.experiments_added, 0);
  EXPECT_EQ(db.value("SELECT (SELECT count(*) FROM runs) || '/' || (SELECT count(*) FROM epochs) "
                     "|| '/' || (SELECT count(*) FROM predictions) || '/' || (SELECT count(*) "
                     "FROM experiments) || '/' || (SELECT count(*) FROM experiment_runs)"),
            before);
}

TEST_F(MergeTest, ACellCompletedHereAlreadyIsNotCopied) {
  {
    Store into = Store::open(db_path_);
    const std::int64_t e = into.begin_experiment("exp", "exp.yaml", "experiment: exp\n");
    RunStart start = run_of(e, "scratch");
    start.identity = "id-a";
    into.finish_run(into.begin_run(start), RunStatus::kCompleted, "");
  }
  write_shard("a", "scratch", "id-a", RunStatus::kCompleted);
  const MergeOutcome outcome = merge({shard_path("a")});
  EXPECT_EQ(outcome.added, 0);
  EXPECT_EQ(outcome.superseded, 1);
  EXPECT_EQ(outcome.experiments_added, 0);
  EXPECT_EQ(RawDb(db_path_).value("SELECT count(*) FROM runs"), "1");
}

TEST_F(MergeTest, ARunItsShardMovedOnSinceIsUpdatedInPlace) {
  // First merge: the task was requeued and its shard holds the run interrupted.
  const std::int64_t run = write_shard("a", "scratch", "id-a", RunStatus::kRunning);
  const MergeOutcome first = merge({shard_path("a")});
  EXPECT_EQ(first.added, 1);
  EXPECT_EQ(first.interrupted, 1) << "a run still 'running' in a shard died with its task";
  RawDb db(db_path_);
  EXPECT_EQ(db.value("SELECT status FROM runs"), "interrupted");
  EXPECT_NE(db.value("SELECT error FROM runs").find("its task ended"), std::string::npos);

  // The requeued task resumed it in the same shard and finished it.
  {
    Store shard = Store::open(shard_path("a"));
    shard.interrupt_running_runs("interrupted: test");
    shard.resume_run(run, 2);
    shard.record_epoch(run, epoch_of("train", 3, 0.8));
    // A resumed run evaluates again: its predictions are recorded anew.
    std::vector<Prediction> predictions;
    for (int i = 0; i < 8; ++i) {
      predictions.push_back({i, "img" + std::to_string(i), i % 2, i % 2, {0.25F, 0.75F}});
    }
    shard.record_predictions(run, "test", predictions);
    shard.finish_run(run, RunStatus::kCompleted, "", {{"test", "accuracy", 0.9}});
  }
  const MergeOutcome second = merge({shard_path("a")});
  EXPECT_EQ(second.added, 0);
  EXPECT_EQ(second.updated, 1);
  EXPECT_EQ(second.completed, 1);
  EXPECT_EQ(db.value("SELECT id || ':' || status || ':' || resumes FROM runs"), "1:completed:1");
  EXPECT_EQ(db.value("SELECT count(*) FROM epochs"), "3");
  EXPECT_EQ(db.value("SELECT test_accuracy FROM run_summary"), "0.9");
  EXPECT_EQ(db.value("SELECT count(*) FROM predictions"), "8") << "replaced, not doubled";
}

TEST_F(MergeTest, AFailedMergeLeavesTheDatabaseAsItWas) {
  write_shard("a", "scratch", "id-a", RunStatus::kCompleted);
  fs::create_directories(dir_ / "shards");
  std::ofstream(shard_path("broken")) << "this is not a database, just text of some length....";
  Store into = Store::open(db_path_);
  try {
    merge_shards(into, {shard_path("a"), shard_path("broken")});
    FAIL() << "merged a file that is not a database";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(shard_path("broken")), std::string::npos) << e.what();
  }
  EXPECT_EQ(RawDb(db_path_).value("SELECT count(*) FROM runs"), "0");
  EXPECT_THROW(merge_shards(into, {(dir_ / "shards" / "missing.db").string()}), Error);
  EXPECT_THROW(merge_shards(into, {db_path_}), Error) << "a database is not its own shard";
}

TEST_F(MergeTest, ThousandsOfRowsMergeInOneTransaction) {
  // Many shards at once: ids stay consistent across them.
  for (int i = 0; i < 20; ++i) {
    write_shard("s" + std::to_string(i), "m" + std::to_string(i), "id-" + std::to_string(i),
                RunStatus::kCompleted);
  }
  std::vector<std::string> shards;
  for (int i = 0; i < 20; ++i) shards.push_back(shard_path("s" + std::to_string(i)));
  EXPECT_EQ(merge(shards).added, 20);
  RawDb db(db_path_);
  EXPECT_EQ(db.value("SELECT count(*) FROM predictions"), "160");
  EXPECT_EQ(db.value("SELECT count(*) FROM runs r JOIN experiments e ON e.id = r.experiment_id"),
            "20");
  EXPECT_EQ(db.value("SELECT count(*) FROM predictions p JOIN runs r ON r.id = p.run_id "
                     "WHERE r.model = 'm7'"),
            "8");
}

}  // namespace
}  // namespace tlr::testing
