// Results databases other than the one a command writes, read for lookups by cell identity: the
// shards Slurm tasks wrote (runner submit) and, for a task, results.db. A Slurm task looks up the
// publisher it loads from here, `runner submit` the cells that need no job, `runner status` the
// cells whose results have not been merged yet.
//
// Contract: a path is a results database file or a folder, whose *.db files are the databases
// (not recursively); a path that does not exist is no database (no shard has come back yet). The
// databases are opened on first use, all of them, with Store::open_immutable: read as snapshots,
// without locks or writes, so that Slurm tasks on many nodes can look up one shards folder and
// results.db on a network filesystem (results.db's only writer, the merge job, runs after the
// tasks of its submission). Errors (a file that is not a results database of this schema) throw
// tlr::Error naming the file.
// Threads: one thread at a time, like Store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/store/store.h"

namespace tlr {

class ResultSources {
 public:
  ResultSources() = default;
  explicit ResultSources(std::vector<std::string> paths);

  struct Found {
    std::string db;  // the database's path
    std::int64_t run_id = 0;
  };
  // A completed run of the cell in any of the databases, the first found in path order.
  std::optional<Found> completed_run(const std::string& identity);
  // The newest run of the cell (latest started) across the databases, with its database.
  std::optional<std::pair<std::string, CellState>> cell_state(const std::string& identity);
  // The run_summary row of a run that completed_run() or cell_state() found.
  RunSummary summary(const Found& found);
  // The artifact rows of a run that completed_run() found.
  std::vector<Artifact> artifacts(const Found& found);
  // The database files the paths name, in order (existing ones only).
  const std::vector<std::string>& files();

 private:
  void open_all();

  std::vector<std::string> paths_;
  std::vector<std::string> files_;
  std::vector<Store> stores_;
  bool listed_ = false, opened_ = false;
};

}  // namespace tlr
