// What the runner needs to skip, resume and report cells: runs found by their cell identity,
// resume_run taking an interrupted run over, experiment_runs, the file_hashes cache, and the
// rows of `runner status` and of a report of chosen runs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/store/store.h"
#include "engine/util/sha256.h"
#include "store/store_fixture.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;
using testing::RawDb;
using testing::StoreTest;

constexpr const char* kCellA = "aaaa000000000000000000000000000000000000000000000000000000000000";
constexpr const char* kCellB = "bbbb000000000000000000000000000000000000000000000000000000000000";

class StoreCells : public StoreTest {
 protected:
  // A run of cell `identity` that ended with `status`.
  std::int64_t run_ending(Store& store, const std::string& identity, RunStatus status) {
    if (experiment_ == 0) experiment_ = store.begin_experiment("exp", "exp.yaml", "");
    RunStart start = run_of(experiment_, "m");
    start.identity = identity;
    const auto run = store.begin_run(start);
    if (status != RunStatus::kRunning) store.finish_run(run, status, "");
    return run;
  }

  std::int64_t experiment_ = 0;
};

TEST_F(StoreCells, IdentityIsStoredAndEmptyIsNull) {
  Store store = Store::open(db_path_);
  const auto with = run_ending(store, kCellA, RunStatus::kRunning);
  const auto without = run_ending(store, "", RunStatus::kRunning);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT identity FROM runs WHERE id = " + std::to_string(with)), kCellA);
  EXPECT_EQ(raw.value("SELECT identity FROM runs WHERE id = " + std::to_string(without)), "<null>");
  EXPECT_EQ(raw.value("SELECT resumes FROM runs WHERE id = " + std::to_string(with)), "0");
  EXPECT_EQ(store.summary(with).identity, kCellA);
  EXPECT_EQ(store.summary(without).identity, "");
  EXPECT_EQ(store.summaries("exp").at(0).identity, "") << "latest_runs rows carry it too";
}

// The newest completed run is reused; an interrupted run is resumed only while no newer run of
// the cell completed; failed and running runs are neither.
TEST_F(StoreCells, CompletedAndResumableRunsByPrecedence) {
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.completed_run(kCellA), std::nullopt);
  EXPECT_EQ(store.resumable_run(kCellA), std::nullopt);

  const auto failed = run_ending(store, kCellA, RunStatus::kFailed);
  run_ending(store, kCellA, RunStatus::kRunning);
  EXPECT_EQ(store.completed_run(kCellA), std::nullopt);
  EXPECT_EQ(store.resumable_run(kCellA), std::nullopt) << "failed " << failed;

  const auto interrupted = run_ending(store, kCellA, RunStatus::kInterrupted);
  EXPECT_EQ(store.completed_run(kCellA), std::nullopt);
  EXPECT_EQ(store.resumable_run(kCellA), interrupted);

  const auto completed = run_ending(store, kCellA, RunStatus::kCompleted);
  EXPECT_EQ(store.completed_run(kCellA), completed);
  EXPECT_EQ(store.resumable_run(kCellA), std::nullopt) << "a newer run completed the cell";

  const auto later = run_ending(store, kCellA, RunStatus::kInterrupted);
  const auto newest = run_ending(store, kCellA, RunStatus::kInterrupted);
  run_ending(store, kCellA, RunStatus::kFailed);
  EXPECT_EQ(store.resumable_run(kCellA), newest) << "the newest interrupted run, not " << later;
  EXPECT_EQ(store.completed_run(kCellA), completed);
  const auto completed_again = run_ending(store, kCellA, RunStatus::kCompleted);
  EXPECT_EQ(store.completed_run(kCellA), completed_again);

  EXPECT_EQ(store.completed_run(kCellB), std::nullopt) << "identities do not mix";
  EXPECT_EQ(store.resumable_run(kCellB), std::nullopt);
  run_ending(store, "", RunStatus::kCompleted);
  EXPECT_EQ(store.completed_run(""), std::nullopt) << "a run without identity is never reused";
}

TEST_F(StoreCells, ResumeRunKeepsTheFirstEpochsAndDropsTheResults) {
  Store store = Store::open(db_path_);
  const auto run = run_ending(store, kCellA, RunStatus::kRunning);
  store.record_epoch(run, epoch_of("warmup", 1, 0.5));
  store.record_epoch(run, epoch_of("warmup", 2, 0.6));
  store.record_epoch(run, epoch_of("fine-tune", 1, 0.7));
  store.record_epoch(run, epoch_of("fine-tune", 2, 0.8));
  store.record_epoch(run, epoch_of("fine-tune", 3, 0.9));
  store.record_metrics(run, "model", {{"trainable_params", 10}});
  store.record_confusion(run, "test", {"a", "b"}, {{1, 2}, {3, 4}});
  const std::string checkpoint = (dir_ / "last.pt").string();
  std::ofstream(checkpoint) << "weights";
  store.record_artifact(run, "checkpoint", checkpoint);
  store.finish_run(run, RunStatus::kInterrupted, "interrupted by the user (SIGINT)",
                   {{"test", "accuracy", 0.5}});
  RawDb raw(db_path_);
  raw.exec("UPDATE runs SET pid = 1, host = 'elsewhere' WHERE id = " + std::to_string(run));
  const RunSummary before = store.summary(run);

  store.resume_run(run, 3);  // the checkpoint covers warmup 1-2 and fine-tune 1
  const RunSummary resumed = store.summary(run);
  EXPECT_EQ(resumed.status, RunStatus::kRunning);
  EXPECT_EQ(resumed.error, "");
  EXPECT_EQ(resumed.finished_at, "");
  EXPECT_FALSE(resumed.wall_seconds);
  EXPECT_EQ(resumed.started_at, before.started_at);
  EXPECT_EQ(raw.value("SELECT pid FROM runs WHERE id = " + std::to_string(run)),
            std::to_string(getpid()));
  EXPECT_EQ(raw.value("SELECT host <> 'elsewhere' AND resumes = 1 FROM runs"), "1");
  const auto epochs = store.epochs(run);
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[0].phase + std::to_string(epochs[0].epoch), "warmup1");
  EXPECT_EQ(epochs[1].phase + std::to_string(epochs[1].epoch), "warmup2");
  EXPECT_EQ(epochs[2].phase + std::to_string(epochs[2].epoch), "fine-tune1");
  EXPECT_TRUE(store.metrics(run, "test").empty());
  EXPECT_TRUE(store.metrics(run, "model").empty());
  EXPECT_EQ(store.confusion(run), std::nullopt);
  EXPECT_EQ(store.artifacts(run).size(), 1u) << "the checkpoint to resume from stays";
  EXPECT_EQ(store.mark_stale_runs(), 0) << "the resumed run belongs to this live process";

  // The resumed run records the epochs after the checkpoint again and finishes as usual.
  store.record_epoch(run, epoch_of("fine-tune", 2, 0.85));
  store.finish_run(run, RunStatus::kCompleted, "", {{"test", "accuracy", 0.9}});
  EXPECT_EQ(store.summary(run).epochs_run, 4);
  EXPECT_EQ(store.summary(run).test_accuracy, 0.9);
  EXPECT_EQ(store.completed_run(kCellA), run);
}

TEST_F(StoreCells, ResumeRunKeepsAllOrNoEpochs) {
  Store store = Store::open(db_path_);
  const auto all = run_ending(store, kCellA, RunStatus::kRunning);
  const auto none = run_ending(store, kCellB, RunStatus::kRunning);
  for (int epoch = 1; epoch <= 2; ++epoch) {
    store.record_epoch(all, epoch_of("train", epoch, 0.5));
    store.record_epoch(none, epoch_of("train", epoch, 0.5));
  }
  store.finish_run(all, RunStatus::kInterrupted, "");
  store.finish_run(none, RunStatus::kInterrupted, "");
  store.resume_run(all, 10);
  store.resume_run(none, 0);
  EXPECT_EQ(store.epochs(all).size(), 2u);
  EXPECT_EQ(store.epochs(none).size(), 0u);
  store.finish_run(none, RunStatus::kInterrupted, "");
  store.resume_run(none, 0);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT resumes FROM runs WHERE id = " + std::to_string(none)), "2");
}

TEST_F(StoreCells, ResumeRunRefusesARunThatIsNotInterrupted) {
  Store store = Store::open(db_path_);
  const auto running = run_ending(store, kCellA, RunStatus::kRunning);
  const auto completed = run_ending(store, kCellA, RunStatus::kCompleted);
  store.record_metrics(completed, "test", {{"accuracy", 0.9}});
  const std::string prefix = db_path_ + ": error: cannot resume run ";
  EXPECT_THROW_MSG(store.resume_run(running, 0), Error,
                   prefix + std::to_string(running) + ": it is running, not interrupted");
  EXPECT_THROW_MSG(store.resume_run(completed, 0), Error,
                   prefix + std::to_string(completed) + ": it is completed, not interrupted");
  EXPECT_EQ(store.metrics(completed, "test").size(), 1u) << "nothing deleted";
  EXPECT_THROW_MSG(store.resume_run(999, 0), Error, prefix + "999: no such run");
  const auto interrupted = run_ending(store, kCellB, RunStatus::kInterrupted);
  EXPECT_THROW_MSG(store.resume_run(interrupted, -1), Error,
                   prefix + std::to_string(interrupted) + ": keep_epochs is -1, not a count");
  store.resume_run(interrupted, 0);
  // A second process resuming the same run loses: the first one took it over.
  Store other = Store::open(db_path_);
  EXPECT_THROW_MSG(other.resume_run(interrupted, 0), Error,
                   prefix + std::to_string(interrupted) + ": it is running, not interrupted");
}

TEST_F(StoreCells, LinkRunRecordsHowAnInvocationUsedARun) {
  Store store = Store::open(db_path_);
  const auto first = store.begin_experiment("exp", "exp.yaml", "");
  const auto ran = store.begin_run(run_of(first, "a"));
  store.finish_run(ran, RunStatus::kCompleted, "");
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count(*) FROM experiment_runs"), "0") << "begin_run does not link";
  store.link_run(first, ran, "ran");
  const auto second = store.begin_experiment("other", "other.yaml", "");
  store.link_run(second, ran, "resumed");
  store.link_run(second, ran, "skipped");  // replaces
  EXPECT_EQ(raw.value("SELECT group_concat(experiment_id || ':' || how, ' ') FROM "
                      "(SELECT * FROM experiment_runs ORDER BY experiment_id)"),
            std::to_string(first) + ":ran " + std::to_string(second) + ":skipped");

  const std::string prefix = db_path_ + ": error: cannot link run ";
  EXPECT_THROW_MSG(store.link_run(second, ran, "reused"), Error,
                   prefix + std::to_string(ran) + " to experiment " + std::to_string(second) +
                       ": unknown way 'reused'; ways: ran, resumed, skipped");
  EXPECT_THROW_MSG(
      store.link_run(second, 999, "ran"), Error,
      prefix + "999 to experiment " + std::to_string(second) + ": FOREIGN KEY constraint failed");

  // Deleting the invocation that reused the run deletes the link, not the run.
  raw.exec("PRAGMA foreign_keys = ON; DELETE FROM experiments WHERE id = " +
           std::to_string(second));
  EXPECT_EQ(raw.value("SELECT count(*) FROM experiment_runs"), "1");
  EXPECT_EQ(raw.value("SELECT count(*) FROM runs"), "1");
}

TEST_F(StoreCells, LinkedRunsInTheOrderTheyWereLinked) {
  Store store = Store::open(db_path_);
  const auto earlier = store.begin_experiment("exp", "exp.yaml", "");
  const auto reused = store.begin_run(run_of(earlier, "reused"));
  const auto invocation = store.begin_experiment("exp", "exp.yaml", "");
  const auto second = store.begin_run(run_of(invocation, "second"));
  const auto first = store.begin_run(run_of(invocation, "first"));
  EXPECT_TRUE(store.linked_runs(invocation).empty());
  store.link_run(invocation, first, "ran");
  store.link_run(invocation, reused, "skipped");
  store.link_run(invocation, second, "resumed");
  using Linked = std::vector<std::pair<std::string, std::int64_t>>;
  EXPECT_EQ(store.linked_runs(invocation),
            (Linked{{"first", first}, {"reused", reused}, {"second", second}}));
  EXPECT_TRUE(store.linked_runs(earlier).empty());
}

TEST_F(StoreCells, CellStateIsTheNewestRunOfTheCell) {
  Store store = Store::open(db_path_);
  EXPECT_EQ(store.cell_state(kCellA), std::nullopt);
  const auto old = run_ending(store, kCellA, RunStatus::kCompleted);
  store.record_epoch(old, epoch_of("train", 1, 0.5));
  const auto run = run_ending(store, kCellA, RunStatus::kRunning);

  auto state = store.cell_state(kCellA);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->run_id, run);
  EXPECT_EQ(state->status, RunStatus::kRunning);
  EXPECT_EQ(state->pid, getpid());
  EXPECT_FALSE(state->host.empty());
  EXPECT_EQ(state->epochs_recorded, 0);
  EXPECT_EQ(state->last_phase, "");
  EXPECT_EQ(state->last_epoch, 0);

  store.record_epoch(run, epoch_of("warmup", 1, 0.5));
  store.record_epoch(run, epoch_of("warmup", 2, 0.5));
  store.record_epoch(run, epoch_of("fine-tune", 1, 0.5));
  store.finish_run(run, RunStatus::kFailed, "diverged");
  state = store.cell_state(kCellA);
  ASSERT_TRUE(state);
  EXPECT_EQ(state->status, RunStatus::kFailed);
  EXPECT_EQ(state->error, "diverged");
  EXPECT_EQ(state->epochs_recorded, 3);
  EXPECT_EQ(state->last_phase, "fine-tune");
  EXPECT_EQ(state->last_epoch, 1);
  EXPECT_EQ(store.cell_state(kCellB), std::nullopt);
}

TEST_F(StoreCells, SummariesOfKeepTheGivenOrder) {
  Store store = Store::open(db_path_);
  const auto a = run_ending(store, kCellA, RunStatus::kCompleted);
  const auto b = run_ending(store, kCellB, RunStatus::kFailed);
  const auto c = run_ending(store, "", RunStatus::kCompleted);
  const auto rows = store.summaries_of({c, a, b});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].run_id, c);
  EXPECT_EQ(rows[1].run_id, a);
  EXPECT_EQ(rows[1].identity, kCellA);
  EXPECT_EQ(rows[2].run_id, b);
  EXPECT_EQ(rows[2].status, RunStatus::kFailed);
  EXPECT_TRUE(store.summaries_of({}).empty());
  EXPECT_THROW_MSG(store.summaries_of({a, 999}), Error,
                   db_path_ + ": error: cannot read run 999: no such run");
}

using StoreFileHashes = StoreTest;

// Sets the file's mtime an hour back: older than the 2 s within which a file is not cached.
void age(const fs::path& file, std::chrono::hours by = std::chrono::hours(1)) {
  fs::last_write_time(file, fs::file_time_type::clock::now() - by);
}

TEST_F(StoreFileHashes, HashedOnceThenReadFromTheCache) {
  Store store = Store::open(db_path_);
  const fs::path weights = dir_ / "weights" / "vgg.pth";
  fs::create_directories(weights.parent_path());
  std::ofstream(weights) << "weights v1";
  age(weights);
  EXPECT_EQ(store.file_sha256(weights.string()), sha256_hex("weights v1", 10));
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT path || ' ' || bytes FROM file_hashes"),
            fs::canonical(weights).string() + " 10");

  // A hit does not read the file: a cached value planted in the row comes back.
  raw.exec("UPDATE file_hashes SET sha256 = 'cached'");
  EXPECT_EQ(store.file_sha256(weights.string()), "cached");
  const fs::path link = dir_ / "link.pth";
  fs::create_symlink(weights, link);
  EXPECT_EQ(store.file_sha256(link.string()), "cached") << "one row per file, not per spelling";

  // Another size: hashed again.
  std::ofstream(weights, std::ios::app) << "+";
  age(weights);
  EXPECT_EQ(store.file_sha256(weights.string()), sha256_hex("weights v1+", 11));
  // The same size, another mtime: hashed again.
  raw.exec("UPDATE file_hashes SET sha256 = 'cached'");
  std::ofstream(weights) << "weights v2+";
  age(weights, std::chrono::hours(2));
  EXPECT_EQ(store.file_sha256(weights.string()), sha256_hex("weights v2+", 11));
  EXPECT_EQ(raw.value("SELECT count(*) FROM file_hashes"), "1");
  EXPECT_EQ(raw.value("SELECT sha256 FROM file_hashes"), sha256_hex("weights v2+", 11));
}

// A file written a moment ago may be rewritten within the same mtime tick at the same size; its
// digest is not cached until it has been left alone for a while.
TEST_F(StoreFileHashes, AFreshlyWrittenFileIsNotCached) {
  Store store = Store::open(db_path_);
  const fs::path file = dir_ / "new.pth";
  fs::create_directories(dir_);
  std::ofstream(file) << "new";
  EXPECT_EQ(store.file_sha256(file.string()), sha256_hex("new", 3));
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count(*) FROM file_hashes"), "0");
}

TEST_F(StoreFileHashes, UnreadableFileIsAnErrorNamingIt) {
  Store store = Store::open(db_path_);
  const std::string missing = (dir_ / "missing.pth").string();
  EXPECT_THROW_MSG(store.file_sha256(missing), Error, missing + ": error: cannot read file");
  fs::create_directories(dir_ / "a_directory");
  EXPECT_THROW_MSG(store.file_sha256((dir_ / "a_directory").string()), Error,
                   (dir_ / "a_directory").string() + ": error: cannot read file");
}

}  // namespace
}  // namespace tlr
