// Several runner processes write one results.db at once (parallel cells, runners a user starts
// side by side): no row may be lost, and a fresh file must be created and migrated once even when
// they all open it at the same moment.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "core/store/sqlite.h"
#include "core/store/store.h"
#include "store/store_fixture.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

using testing::RawDb;
using testing::StoreTest;

using StoreConcurrency = StoreTest;

constexpr int kWriters = 3;
constexpr int kRunsEach = 40;
constexpr int kEpochsEach = 20;

// One writer process: opens the (maybe not yet existing) file, then records its runs as fast as
// it can, every row in its own transaction as the runner does. Only the store is used after
// fork() (no libtorch, no gtest); the exit status says whether everything was written.
[[noreturn]] void write_runs(const std::string& db_path, int writer, int start_gate) {
  char go = 0;
  // Blocks until the parent closes the pipe, which releases every writer at once.
  while (read(start_gate, &go, 1) > 0) {
  }
  try {
    Store store = Store::open(db_path);
    const auto experiment = store.begin_experiment("writer" + std::to_string(writer), "w.yaml", "");
    for (int i = 0; i < kRunsEach; ++i) {
      RunStart start;
      start.experiment_id = experiment;
      start.model = "m" + std::to_string(i);
      start.strategy = "scratch";
      start.backbone = "basic_cnn";
      start.config_json = "{}";
      start.config_hash = "h";
      start.threads = 1;
      start.identity = std::to_string(writer) + "/" + std::to_string(i);
      const auto run = store.begin_run(start);
      store.link_run(experiment, run, "ran");
      for (int epoch = 1; epoch <= kEpochsEach; ++epoch) {
        EpochRow row;
        row.phase = "train";
        row.epoch = epoch;
        row.val_acc = 0.5;
        store.record_epoch(run, row);
      }
      store.record_metrics(run, "model", {{"trainable_params", 10}, {"total_params", 20}});
      store.finish_run(run, RunStatus::kCompleted, "",
                       {{"test", "accuracy", 0.9}, {"test", "f1", 0.8}});
    }
    store.finish_experiment(experiment, RunStatus::kCompleted);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer %d: %s\n", writer, e.what());
    _exit(1);
  }
  _exit(0);
}

TEST_F(StoreConcurrency, ThreeProcessesOpenAFreshFileAndWriteWithoutLosingARow) {
  int gate[2];
  ASSERT_EQ(pipe(gate), 0);
  std::vector<pid_t> writers;
  for (int w = 0; w < kWriters; ++w) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(gate[1]);
      write_runs(db_path_, w, gate[0]);
    }
    writers.push_back(child);
  }
  close(gate[0]);
  const auto started = std::chrono::steady_clock::now();
  close(gate[1]);  // go
  for (const pid_t child : writers) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "writer " << child << " failed (its error is on stderr)";
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%d writers x %d runs x %d epochs: %.2f s\n", kWriters, kRunsEach, kEpochsEach,
              seconds);

  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw.value("PRAGMA user_version"), std::to_string(Store::latest_schema_version()));
  EXPECT_EQ(raw.value("SELECT count(*) FROM experiments WHERE status = 'completed'"),
            std::to_string(kWriters));
  EXPECT_EQ(raw.value("SELECT count(*) FROM runs WHERE status = 'completed'"),
            std::to_string(kWriters * kRunsEach));
  EXPECT_EQ(raw.value("SELECT count(DISTINCT identity) FROM runs"),
            std::to_string(kWriters * kRunsEach));
  EXPECT_EQ(raw.value("SELECT count(*) FROM experiment_runs"),
            std::to_string(kWriters * kRunsEach));
  EXPECT_EQ(raw.value("SELECT count(*) FROM epochs"),
            std::to_string(kWriters * kRunsEach * kEpochsEach));
  EXPECT_EQ(raw.value("SELECT count(*) FROM metrics"), std::to_string(kWriters * kRunsEach * 4));
  // Every run has all its epochs, in its own experiment.
  EXPECT_EQ(raw.value("SELECT count(*) FROM runs AS r JOIN experiments AS e ON e.id = "
                      "r.experiment_id WHERE (SELECT count(*) FROM epochs WHERE run_id = r.id) "
                      "<> " +
                      std::to_string(kEpochsEach) +
                      " OR e.name <> 'writer' || "
                      "substr(r.identity, 1, instr(r.identity, '/') - 1)"),
            "0");
  EXPECT_EQ(raw.value("SELECT count(*) FROM pragma_foreign_key_check"), "0");
  EXPECT_LT(seconds, 20.0);
}

// SQLite returns SQLITE_BUSY without waiting where waiting could deadlock; the whole transaction
// is then rolled back and run again.
TEST_F(StoreConcurrency, ABusyTransactionIsRolledBackAndRunAgain) {
  Store store = Store::open(db_path_);  // creates the schema
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  int attempts = 0;
  store_detail::write_transaction(db, db_path_, "probe", [&] {
    ++attempts;
    store_detail::exec(db, db_path_,
                       "INSERT INTO experiments (name, file, yaml, host, pid) "
                       "VALUES ('e', 'e.yaml', '', 'h', 1)",
                       "probe");
    if (attempts < 3) throw store_detail::BusyError("busy");
  });
  sqlite3_close(db);
  EXPECT_EQ(attempts, 3);
  RawDb raw(db_path_);
  EXPECT_EQ(raw.value("SELECT count(*) FROM experiments"), "1") << "failed attempts rolled back";
}

// A lock held longer than the budget (a user's sqlite3 shell left inside BEGIN IMMEDIATE) ends in
// a one-line error instead of a hang.
TEST_F(StoreConcurrency, GivesUpOnALockHeldPastTheBudget) {
  Store store = Store::open(db_path_);
  RawDb holder(db_path_);
  holder.exec("BEGIN IMMEDIATE");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &db), SQLITE_OK);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THROW_MSG(store_detail::write_transaction(
                       db, db_path_, "cannot record probe", [] {}, std::chrono::milliseconds(300)),
                   Error,
                   db_path_ +
                       ": error: cannot record probe: database is locked; gave up after "
                       "300 ms");
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::seconds(3));
  sqlite3_close(db);
  holder.exec("ROLLBACK");

  // Once the lock is released, writes go through.
  store.begin_experiment("e", "e.yaml", "");
}

}  // namespace
}  // namespace tlr
