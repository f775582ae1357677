// What `runner run` asks of an experiment run (the command line's choices).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tlr {

struct RunOptions {
  std::string db_path = "results/results.db";
  std::string results_dir = "results";  // artifacts under <results_dir>/<experiment>/
  std::string cache_dir;                // "" = <results_dir>/cache
  int threads = 0;                      // torch intra-op threads (set by the caller)
  std::vector<std::string> only;        // model names to run; empty = all
  long long seed_override = -1;         // --seed: replaces every model's seed
  std::string device;                   // --device: replaces every model's device; "" = the file's
  bool quiet = false;
  bool line_progress = false;  // one line per epoch even on a terminal (parallel workers)
  int data_workers = 0;        // 0 = threads
  // Skip and resume (cell_identity.h): a cell whose identical run completed is skipped and one
  // that was interrupted resumes from its checkpoint, unless --rerun names it (or all of them).
  bool rerun_all = false;
  std::vector<std::string> rerun;  // model names
  // Other results databases (files or folders of *.db: the shards of runner submit) where a cell
  // that completed counts as completed: skipped, and its published weights used. A Slurm task
  // passes results.db and the shards folder.
  std::vector<std::string> completed_from;
  // The database is one Slurm task's own shard: a run it holds as 'running' died with an earlier
  // attempt of the task (on whatever node), so it is marked interrupted and resumed.
  bool task_shard = false;
  // --checkpoint-interval: seconds between end-of-epoch checkpoints of a fit (FitCheckpointing);
  // 0 = after every epoch.
  double checkpoint_interval = 30;
  // A worker of `run --jobs N` records its cell under its coordinator's invocation; 0 = begin one.
  std::int64_t experiment_id = 0;
};

}  // namespace tlr
