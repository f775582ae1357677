#include "core/store/merge.h"

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include "core/store/schema.h"
#include "core/store/sqlite.h"
#include "tlr/error.h"

namespace tlr {

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
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_close_v2(raw);
      raw = nullptr;
      rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    }
    Connection db(raw);
    if (rc != SQLITE_OK) fail(db.get(), path, "cannot open shard");
    sqlite3_busy_timeout(db.get(), 30'000);
    int version = 0;
    try {
      version = user_version(db.get(), path);
    } catch (const Error&) {
      throw Error(path + ": error: not a results database");
    }
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

// Copies the rows of one run-child table of one run from a shard into the target.
class ChildCopier {
 public:
  ChildCopier(sqlite3* shard, const std::string& shard_path, sqlite3* into,
              const std::string& into_path, const std::string& table)
      : columns_(columns_of(into, into_path, table)),
        select_(shard, shard_path,
                ("SELECT " + joined(columns_) + " FROM " + table + " WHERE run_id = ?").c_str(),
                "cannot read " + table),
        insert_(into, into_path,
                ("INSERT INTO " + table + " (run_id, " + joined(columns_) + ") VALUES (?, " +
                 placeholders(columns_.size()) + ")")
                    .c_str(),
                "cannot merge " + table),
        remove_(into, into_path, ("DELETE FROM " + table + " WHERE run_id = ?").c_str(),
                "cannot replace " + table) {}

  void copy(std::int64_t from_run, std::int64_t to_run) {
    select_.bind(1, from_run);
    while (select_.step()) {
      insert_.bind(1, to_run);
      for (std::size_t i = 0; i < columns_.size(); ++i) {
        insert_.bind_value(static_cast<int>(i) + 2, select_.value(static_cast<int>(i)));
      }
      insert_.run();
    }
    select_.reset();
  }

  void remove(std::int64_t run) {
    remove_.bind(1, run);
    remove_.run();
  }

 private:
  std::vector<std::string> columns_;
  Statement select_, insert_, remove_;
};

// One shard merged into the target inside the caller's transaction.
class ShardMerge {
 public:
  ShardMerge(sqlite3* shard, const std::string& shard_path, sqlite3* into,
             const std::string& into_path, MergeOutcome& outcome)
      : shard_(shard),
        shard_path_(shard_path),
        into_(into),
        into_path_(into_path),
        outcome_(outcome),
        run_columns_(columns_of(into, into_path, "runs")),
        experiment_columns_(columns_of(into, into_path, "experiments")) {}

  void run() {
    std::vector<std::unique_ptr<ChildCopier>> children;
    for (const char* table : kRunChildren) {
      children.push_back(
          std::make_unique<ChildCopier>(shard_, shard_path_, into_, into_path_, table));
    }
    const int experiment_at = index_of(run_columns_, "experiment_id");
    const int status_at = index_of(run_columns_, "status");
    const int error_at = index_of(run_columns_, "error");
    const int identity_at = index_of(run_columns_, "identity");
    const int model_at = index_of(run_columns_, "model");
    const int replicate_at = index_of(run_columns_, "replicate");
    const int started_at = index_of(run_columns_, "started_at");
    const int finished_at = index_of(run_columns_, "finished_at");
    const int resumes_at = index_of(run_columns_, "resumes");

    Statement runs(shard_, shard_path_,
                   ("SELECT id, (SELECT COUNT(*) FROM epochs WHERE run_id = runs.id), " +
                    joined(run_columns_) + " FROM runs ORDER BY id")
                       .c_str(),
                   "cannot read runs");
    Statement same(into_, into_path_,
                   "SELECT id, status, finished_at, resumes, "
                   "       (SELECT COUNT(*) FROM epochs WHERE run_id = runs.id) "
                   "FROM runs WHERE identity IS ? AND model = ? AND replicate = ? AND "
                   "started_at = ? ORDER BY id LIMIT 1",
                   "cannot look up merged runs");
    Statement completed(into_, into_path_,
                        "SELECT id FROM runs WHERE identity = ? AND status = 'completed' "
                        "ORDER BY id DESC LIMIT 1",
                        "cannot look up completed runs");
    Statement insert(into_, into_path_,
                     ("INSERT INTO runs (" + joined(run_columns_) + ") VALUES (" +
                      placeholders(run_columns_.size()) + ")")
                         .c_str(),
                     "cannot merge runs");
    Statement update(into_, into_path_,
                     ("UPDATE runs SET " + joined(run_columns_, " = ?") + " WHERE id = ?").c_str(),
                     "cannot update merged runs");

    while (runs.step()) {
      const std::int64_t shard_run = runs.int64(0);
      const std::int64_t epochs = runs.int64(1);
      auto column = [&](int i) { return runs.value(i + 2); };
      std::string status = runs.text(status_at + 2);
      const bool died = status == "running";
      if (died) status = "interrupted";

      // Bind the run's columns to `statement`, the experiment renumbered and a dead 'running'
      // run marked interrupted.
      auto bind_run = [&](Statement& statement, std::int64_t experiment) {
        for (int i = 0; i < static_cast<int>(run_columns_.size()); ++i) {
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
      std::int64_t target = 0;
      if (merged_as) {
        target = *merged_as;
        for (auto& child : children) child->remove(target);
        bind_run(update, experiment);
        update.bind(static_cast<int>(run_columns_.size()) + 1, target);
        update.run();
        ++outcome_.updated;
      } else {
        bind_run(insert, experiment);
        insert.run();
        target = sqlite3_last_insert_rowid(into_);
        ++outcome_.added;
      }
      if (status == "completed") ++outcome_.completed;
      if (status == "failed") ++outcome_.failed;
      if (status == "interrupted") ++outcome_.interrupted;
      for (auto& child : children) child->copy(shard_run, target);
      runs_[shard_run] = target;
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
    Statement row(
        shard_, shard_path_,
        ("SELECT " + joined(experiment_columns_) + " FROM experiments WHERE id = ?").c_str(),
        "cannot read experiments");
    row.bind(1, shard_experiment);
    if (!row.step()) {
      throw Error(shard_path_ + ": error: run of experiment " + std::to_string(shard_experiment) +
                  ", which the shard does not have");
    }
    Statement find(into_, into_path_,
                   "SELECT id FROM experiments WHERE name = ? AND host = ? AND pid = ? AND "
                   "started_at = ?",
                   "cannot look up merged experiments");
    find.bind_value(1, row.value(index_of(experiment_columns_, "name")))
        .bind_value(2, row.value(index_of(experiment_columns_, "host")))
        .bind_value(3, row.value(index_of(experiment_columns_, "pid")))
        .bind_value(4, row.value(index_of(experiment_columns_, "started_at")));
    std::int64_t id = 0;
    if (find.step()) {
      id = find.int64(0);
    } else {
      Statement insert(into_, into_path_,
                       ("INSERT INTO experiments (" + joined(experiment_columns_) + ") VALUES (" +
                        placeholders(experiment_columns_.size()) + ")")
                           .c_str(),
                       "cannot merge experiments");
      const int status_at = index_of(experiment_columns_, "status");
      for (int i = 0; i < static_cast<int>(experiment_columns_.size()); ++i) {
        if (i == status_at && row.text(i) == "running") {
          insert.bind(i + 1, "interrupted");
        } else {
          insert.bind_value(i + 1, row.value(i));
        }
      }
      insert.run();
      id = sqlite3_last_insert_rowid(into_);
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
    Statement insert(into_, into_path_,
                     "INSERT OR IGNORE INTO experiment_runs (experiment_id, run_id, how) "
                     "VALUES (?, ?, ?)",
                     "cannot merge experiment_runs");
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
    Statement insert(into_, into_path_,
                     "INSERT OR IGNORE INTO file_hashes (path, bytes, mtime_ns, sha256) "
                     "VALUES (?, ?, ?, ?)",
                     "cannot merge file_hashes");
    while (rows.step()) {
      for (int i = 0; i < 4; ++i) insert.bind_value(i + 1, rows.value(i));
      insert.run();
    }
  }

  sqlite3* shard_;
  const std::string& shard_path_;
  sqlite3* into_;
  const std::string& into_path_;
  MergeOutcome& outcome_;
  std::vector<std::string> run_columns_, experiment_columns_;
  std::map<std::int64_t, std::int64_t> runs_;         // shard run id -> target run id
  std::map<std::int64_t, std::int64_t> experiments_;  // shard experiment id -> target id
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::exists(a, ec) && fs::exists(b, ec) && fs::equivalent(a, b, ec);
}

}  // namespace

MergeOutcome merge_shards(Store& into, const std::vector<std::string>& shard_paths) {
  std::vector<std::pair<std::string, Connection>> shards;
  for (const std::string& path : shard_paths) {
    if (same_file(path, into.path_)) {
      throw Error(path + ": error: is the database merged into; it cannot be its own shard");
    }
    shards.emplace_back(path, open_shard(path));
  }
  MergeOutcome outcome;
  write_transaction(into.db_.get(), into.path_, "cannot merge shards", [&] {
    outcome = MergeOutcome{};
    outcome.shards = static_cast<int>(shards.size());
    for (auto& [path, db] : shards) {
      try {
        ShardMerge(db.get(), path, into.db_.get(), into.path_, outcome).run();
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
