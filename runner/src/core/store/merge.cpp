#include "core/store/merge.h"

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "core/store/schema.h"
#include "core/store/sqlite.h"
#include "tlr/error.h"

namespace tlr {

using store_detail::exec;
using store_detail::fail;
using store_detail::Statement;
using store_detail::write_transaction;

namespace {

namespace fs = std::filesystem;

// The tables that hang off a run by run_id, copied with it. Statistics tables belong to an
// invocation and are not copied (merge.h).
constexpr const char* kRunChildren[] = {"epochs",    "metrics",     "confusion",
                                        "artifacts", "run_plugins", "predictions"};

struct CloseDb {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, CloseDb>;

std::vector<std::string> columns_of(sqlite3* db, const std::string& path,
                                    const std::string& table) {
  Statement info(db, path, ("PRAGMA table_info(" + table + ")").c_str(),
                 "cannot read the columns of " + table);
  std::vector<std::string> columns;
  while (info.step()) {
    const std::string name = info.text(1);
    if (name != "id" && name != "run_id") columns.push_back(name);
  }
  return columns;
}

std::string joined(const std::vector<std::string>& names, const std::string& suffix = "") {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name + suffix;
  return out;
}

std::string placeholders(std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

int index_of(const std::vector<std::string>& columns, const std::string& name) {
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return static_cast<int>(i);
  }
  throw Error("error: results database has no column " + name);
}

int user_version(sqlite3* db, const std::string& path) {
  Statement version(db, path, "PRAGMA user_version", "cannot read the schema version");
  version.step();
  return static_cast<int>(version.int64(0));
}

// Opens a shard for reading (read-write when it can, so that SQLite can replay a write-ahead log
// its task left), migrated to this runner's schema.
Connection open_shard(const std::string& path) {
  if (!fs::is_regular_file(path)) {
    throw Error(path + ": error: no such shard (expected a results database file)");
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    sqlite3* raw = nullptr;
    // One thread uses the connection: no mutex.
    int rc =
        sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_close_v2(raw);
      raw = nullptr;
      rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    }
    Connection db(raw);
    if (rc != SQLITE_OK) fail(db.get(), path, "cannot open shard");
    sqlite3_busy_timeout(db.get(), 30'000);
    // SQLite's own message says why: "file is not a database", "unable to open database file"
    // (out of file descriptors), ...
    const int version = user_version(db.get(), path);
    const int latest = store_detail::latest_schema_version();
    if (version == latest) return db;
    if (version == 0) throw Error(path + ": error: not a results database (no tlr schema)");
    if (version > latest) {
      throw Error(path + ": error: shard schema version " + std::to_string(version) +
                  " is newer than this runner (" + std::to_string(latest) + "); upgrade tlr");
    }
    db.reset();
    Store::open(path);  // migrates it, then reopen
  }
  throw Error(path + ": error: cannot migrate shard");
}

// A run-child table of the target: its columns (without id and run_id), and the statements that
// add and remove one run's rows. Prepared once per merge.
class ChildTable {
 public:
  ChildTable(sqlite3* into, const std::string& into_path, const std::string& table)
      : name_(table),
        columns_(columns_of(into, into_path, table)),
        insert_(into, into_path,
                ("INSERT INTO " + table + " (run_id, " + joined(columns_) + ") VALUES (?, " +
                 placeholders(columns_.size()) + ")")
                    .c_str(),
                "cannot merge " + table),
        remove_(into, into_path, ("DELETE FROM " + table + " WHERE run_id = ?").c_str(),
                "cannot replace " + table) {}

  const std::string& name() const { return name_; }
  const std::vector<std::string>& columns() const { return columns_; }

  // Copies the rows `select` (bound to one shard run, columns() in order) yields for `to_run`.
  void copy(Statement& select, std::int64_t to_run) {
    while (select.step()) {
      insert_.bind(1, to_run);
      for (std::size_t i = 0; i < columns_.size(); ++i) {
        insert_.bind_value(static_cast<int>(i) + 2, select.value(static_cast<int>(i)));
      }
      insert_.run();
    }
    select.reset();
  }

  void remove(std::int64_t run) {
    remove_.bind(1, run);
    remove_.run();
  }

 private:
  std::string name_;
  std::vector<std::string> columns_;
  Statement insert_, remove_;
};

// Everything on the target side of a merge, prepared once and shared by the shards: statements,
// and the invocations (experiments rows) by their natural key, so that finding one is a map
// lookup rather than a scan of every merged row with the same name.
struct Target {
  Target(sqlite3* db_, const std::string& path_)
      : db(db_),
        path(path_),
        run_columns(columns_of(db, path, "runs")),
        experiment_columns(columns_of(db, path, "experiments")),
        same(db, path,
             "SELECT id, status, finished_at, resumes, "
             "       (SELECT COUNT(*) FROM epochs WHERE run_id = runs.id) "
             "FROM runs WHERE identity IS ? AND model = ? AND replicate = ? AND "
             "started_at = ? ORDER BY id LIMIT 1",
             "cannot look up merged runs"),
        completed(db, path,
                  "SELECT id FROM runs WHERE identity = ? AND status = 'completed' "
                  "ORDER BY id DESC LIMIT 1",
                  "cannot look up completed runs"),
        insert_run(db, path,
                   ("INSERT INTO runs (" + joined(run_columns) + ") VALUES (" +
                    placeholders(run_columns.size()) + ")")
                       .c_str(),
                   "cannot merge runs"),
        update_run(db, path,
                   ("UPDATE runs SET " + joined(run_columns, " = ?") + " WHERE id = ?").c_str(),
                   "cannot update merged runs"),
        insert_experiment(db, path,
                          ("INSERT INTO experiments (" + joined(experiment_columns) + ") VALUES (" +
                           placeholders(experiment_columns.size()) + ")")
                              .c_str(),
                          "cannot merge experiments"),
        insert_link(db, path,
                    "INSERT OR IGNORE INTO experiment_runs (experiment_id, run_id, how) "
                    "VALUES (?, ?, ?)",
                    "cannot merge experiment_runs"),
        insert_file_hash(db, path,
                         "INSERT OR IGNORE INTO file_hashes (path, bytes, mtime_ns, sha256) "
                         "VALUES (?, ?, ?, ?)",
                         "cannot merge file_hashes") {
    for (const char* table : kRunChildren) {
      children.push_back(std::make_unique<ChildTable>(db, path, table));
    }
    Statement all(db, path, "SELECT id, name, host, pid, started_at FROM experiments",
                  "cannot read experiments");
    while (all.step()) {
      experiments[{all.text(1), all.text(2), all.int64(3), all.text(4)}] = all.int64(0);
    }
  }

  using ExperimentKey = std::tuple<std::string, std::string, std::int64_t, std::string>;

  sqlite3* db;
  const std::string& path;
  std::vector<std::string> run_columns, experiment_columns;
  Statement same, completed, insert_run, update_run, insert_experiment, insert_link,
      insert_file_hash;
  std::vector<std::unique_ptr<ChildTable>> children;
  std::map<ExperimentKey, std::int64_t> experiments;
};

// One shard merged into the target inside the caller's transaction.
class ShardMerge {
 public:
  ShardMerge(sqlite3* shard, const std::string& shard_path, Target& target, MergeOutcome& outcome)
      : shard_(shard), shard_path_(shard_path), target_(target), outcome_(outcome) {}

  void run() {
    const std::vector<std::string>& columns = target_.run_columns;
    const int experiment_at = index_of(columns, "experiment_id");
    const int status_at = index_of(columns, "status");
    const int error_at = index_of(columns, "error");
    const int identity_at = index_of(columns, "identity");
    const int model_at = index_of(columns, "model");
    const int replicate_at = index_of(columns, "replicate");
    const int started_at = index_of(columns, "started_at");
    const int finished_at = index_of(columns, "finished_at");
    const int resumes_at = index_of(columns, "resumes");

    std::vector<std::unique_ptr<Statement>> selects;
    for (const auto& child : target_.children) {
      selects.push_back(std::make_unique<Statement>(
          shard_, shard_path_,
          ("SELECT " + joined(child->columns()) + " FROM " + child->name() + " WHERE run_id = ?")
              .c_str(),
          "cannot read " + child->name()));
    }
    Statement runs(shard_, shard_path_,
                   ("SELECT id, (SELECT COUNT(*) FROM epochs WHERE run_id = runs.id), " +
                    joined(columns) + " FROM runs ORDER BY id")
                       .c_str(),
                   "cannot read runs");
    Statement& same = target_.same;
    Statement& completed = target_.completed;

    while (runs.step()) {
      const std::int64_t shard_run = runs.int64(0);
      const std::int64_t epochs = runs.int64(1);
      auto column = [&](int i) { return runs.value(i + 2); };
      std::string status = runs.text(status_at + 2);
      const bool died = status == "running";
      if (died) status = "interrupted";

      // Binds the run's columns to `statement`, the experiment renumbered and a dead 'running'
      // run marked interrupted.
      auto bind_run = [&](Statement& statement, std::int64_t experiment) {
        for (int i = 0; i < static_cast<int>(columns.size()); ++i) {
          if (i == experiment_at) {
            statement.bind(i + 1, experiment);
          } else if (i == status_at) {
            statement.bind(i + 1, status);
          } else if (i == error_at && died) {
            statement.bind(i + 1,
                           "interrupted: its task ended without recording the run's "
                           "outcome (merged from " +
                               shard_path_ + ")");
          } else {
            statement.bind_value(i + 1, column(i));
          }
        }
      };

      same.bind_value(1, column(identity_at))
          .bind_value(2, column(model_at))
          .bind_value(3, column(replicate_at))
          .bind_value(4, column(started_at));
      std::optional<std::int64_t> merged_as;
      bool unchanged = false;
      if (same.step()) {
        merged_as = same.int64(0);
        unchanged = same.text(1) == status && same.text(2) == runs.text(finished_at + 2) &&
                    same.int64(3) == runs.int64(resumes_at + 2) && same.int64(4) == epochs;
      }
      same.reset();

      if (merged_as && unchanged) {
        ++outcome_.unchanged;
        runs_[shard_run] = *merged_as;
        continue;
      }
      if (!merged_as && !runs.is_null(identity_at + 2)) {
        completed.bind_value(1, column(identity_at));
        const bool done_here = completed.step();
        completed.reset();
        if (done_here) {
          ++outcome_.superseded;  // its cell completed here as another run: nothing to add
          continue;
        }
      }
      const std::int64_t experiment = experiment_of(runs.int64(experiment_at + 2));
      std::int64_t to = 0;
      if (merged_as) {
        to = *merged_as;
        for (auto& child : target_.children) child->remove(to);
        bind_run(target_.update_run, experiment);
        target_.update_run.bind(static_cast<int>(columns.size()) + 1, to);
        target_.update_run.run();
        ++outcome_.updated;
      } else {
        bind_run(target_.insert_run, experiment);
        target_.insert_run.run();
        to = sqlite3_last_insert_rowid(target_.db);
        ++outcome_.added;
      }
      if (status == "completed") ++outcome_.completed;
      if (status == "failed") ++outcome_.failed;
      if (status == "interrupted") ++outcome_.interrupted;
      for (std::size_t c = 0; c < target_.children.size(); ++c) {
        selects[c]->bind(1, shard_run);
        target_.children[c]->copy(*selects[c], to);
      }
      runs_[shard_run] = to;
    }
    copy_links();
    copy_file_hashes();
  }

 private:
  // The target's id of a shard's experiments row: the same invocation (name, host, pid,
  // started_at) merged before, or a new row.
  std::int64_t experiment_of(std::int64_t shard_experiment) {
    auto known = experiments_.find(shard_experiment);
    if (known != experiments_.end()) return known->second;
    const std::vector<std::string>& columns = target_.experiment_columns;
    Statement row(shard_, shard_path_,
                  ("SELECT " + joined(columns) + " FROM experiments WHERE id = ?").c_str(),
                  "cannot read experiments");
    row.bind(1, shard_experiment);
    if (!row.step()) {
      throw Error(shard_path_ + ": error: run of experiment " + std::to_string(shard_experiment) +
                  ", which the shard does not have");
    }
    const Target::ExperimentKey key{
        row.text(index_of(columns, "name")), row.text(index_of(columns, "host")),
        row.int64(index_of(columns, "pid")), row.text(index_of(columns, "started_at"))};
    std::int64_t id = 0;
    auto merged = target_.experiments.find(key);
    if (merged != target_.experiments.end()) {
      id = merged->second;
    } else {
      Statement& insert = target_.insert_experiment;
      const int status_at = index_of(columns, "status");
      for (int i = 0; i < static_cast<int>(columns.size()); ++i) {
        if (i == status_at && row.text(i) == "running") {
          insert.bind(i + 1, "interrupted");
        } else {
          insert.bind_value(i + 1, row.value(i));
        }
      }
      insert.run();
      id = sqlite3_last_insert_rowid(target_.db);
      target_.experiments[key] = id;
      ++outcome_.experiments_added;
    }
    experiments_[shard_experiment] = id;
    return id;
  }

  // experiment_runs of the runs merged (added, updated or unchanged), under their invocations.
  void copy_links() {
    Statement links(shard_, shard_path_,
                    "SELECT experiment_id, run_id, how FROM experiment_runs ORDER BY rowid",
                    "cannot read experiment_runs");
    Statement& insert = target_.insert_link;
    while (links.step()) {
      auto run = runs_.find(links.int64(1));
      if (run == runs_.end()) continue;
      insert.bind(1, experiment_of(links.int64(0)))
          .bind(2, run->second)
          .bind_value(3, links.value(2));
      insert.run();
    }
  }

  // The weight files' hash cache: paths are absolute, so valid for the target too.
  void copy_file_hashes() {
    Statement rows(shard_, shard_path_, "SELECT path, bytes, mtime_ns, sha256 FROM file_hashes",
                   "cannot read file_hashes");
    Statement& insert = target_.insert_file_hash;
    while (rows.step()) {
      for (int i = 0; i < 4; ++i) insert.bind_value(i + 1, rows.value(i));
      insert.run();
    }
  }

  sqlite3* shard_;
  const std::string& shard_path_;
  Target& target_;
  MergeOutcome& outcome_;
  std::map<std::int64_t, std::int64_t> runs_;         // shard run id -> target run id
  std::map<std::int64_t, std::int64_t> experiments_;  // shard experiment id -> target id
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

}  // namespace

MergeOutcome merge_shards(Store& into, const std::vector<std::string>& shard_paths) {
  // First pass: every shard readable and at this runner's schema (migrated if older), before the
  // target is touched. Each is closed again: a merge of thousands of shards must not hold
  // thousands of files open.
  for (const std::string& path : shard_paths) {
    if (same_file(path, into.path_)) {
      throw Error(path + ": error: is the database merged into; it cannot be its own shard");
    }
    open_shard(path);
  }
  sqlite3* db = into.db_.get();
  // The merge assigns every parent id itself; checking each copied row's foreign keys would
  // double its cost. PRAGMA foreign_keys cannot change inside a transaction: off around it.
  exec(db, into.path_, "PRAGMA foreign_keys = OFF", "cannot prepare the merge");
  struct ForeignKeysBackOn {
    sqlite3* db;
    ~ForeignKeysBackOn() {
      sqlite3_exec(db, "PRAGMA foreign_keys = ON", nullptr, nullptr, nullptr);
    }
  } back_on{db};
  MergeOutcome outcome;
  write_transaction(db, into.path_, "cannot merge shards", [&] {
    outcome = MergeOutcome{};
    outcome.shards = static_cast<int>(shard_paths.size());
    Target target(db, into.path_);
    for (const std::string& path : shard_paths) {
      try {
        const Connection shard = open_shard(path);
        ShardMerge(shard.get(), path, target, outcome).run();
      } catch (const store_detail::BusyError&) {
        throw;  // the whole merge is retried
      } catch (const Error& e) {
        const std::string what = e.what();
        // Errors about the target already name it; name the shard too.
        throw Error(what.find(path) == std::string::npos ? path + ": " + what : what);
      }
    }
  });
  return outcome;
}

std::string describe(const MergeOutcome& o) {
  std::string line = std::to_string(o.shards) + (o.shards == 1 ? " shard: " : " shards: ") +
                     std::to_string(o.added) + " added, " + std::to_string(o.updated) + " updated";
  std::vector<std::string> by_status;
  if (o.completed > 0) by_status.push_back(std::to_string(o.completed) + " completed");
  if (o.failed > 0) by_status.push_back(std::to_string(o.failed) + " failed");
  if (o.interrupted > 0) by_status.push_back(std::to_string(o.interrupted) + " interrupted");
  if (!by_status.empty()) line += " (" + joined(by_status) + ")";
  line += ", " + std::to_string(o.unchanged) + " unchanged, " + std::to_string(o.superseded) +
          " already completed here as other runs";
  return line;
}

}  // namespace tlr
