// Merging result shards into a results database: what a Slurm task recorded in its own SQLite
// file (runner submit) comes back into results.db.
//
// Contract:
// - merge_shards() copies every run of every shard, with its epochs, metrics, confusion matrices,
//   predictions, artifacts and plugin rows, the invocation (experiments row) that began it and
//   its experiment_runs links, into `into`. Run and experiment ids are renumbered; the rows'
//   contents, artifact paths included, are copied as they are (a task writes its artifacts to the
//   shared results folder, so the paths stay valid).
// - Idempotent: a run is the same run when its identity, model, replicate and started_at match
//   (a resumed run keeps its started_at). One merged before is left alone when unchanged and
//   replaced in place (same id) when its shard has moved on since (resumed, finished). A run whose
//   cell already completed in `into` as another run is not copied (cell identity decides). So
//   merging a shard twice adds nothing.
// - Transactional: all shards in one write transaction of `into`; a failure anywhere (an
//   unreadable shard, a shard of a newer schema) leaves `into` as it was and throws tlr::Error
//   naming the shard.
// - A run a shard still shows as 'running' belongs to a task that ended without recording its
//   outcome (shards are moved in only when their task ends): it is merged as 'interrupted'.
// - Shards must be at most `into`'s schema version; older ones are migrated in place first.
// - Statistics (model_statistics, mcnemar_tests) are not copied: they belong to the invocation
//   that computed them; `runner report` recomputes them over the merged runs.
// Threads: uses `into` (one Store: one thread) and opens each shard once, sequentially.
#pragma once

#include <string>
#include <vector>

#include "core/store/store.h"

namespace tlr {

struct MergeOutcome {
  int shards = 0;
  int added = 0;       // runs new to the database
  int updated = 0;     // runs merged before whose shard has moved on since
  int unchanged = 0;   // runs merged before, as they were
  int superseded = 0;  // runs of cells that completed in the database as another run
  int completed = 0, failed = 0, interrupted = 0;  // of the added and updated runs, by status
  int experiments_added = 0;
};

MergeOutcome merge_shards(Store& into, const std::vector<std::string>& shard_paths);

// "3 shards: 4 added, 1 updated (4 completed, 1 failed), 2 unchanged, 0 already completed here
// as other runs" (runs; the status counts are of the added and updated): what `runner merge`
// prints.
std::string describe(const MergeOutcome& outcome);

}  // namespace tlr
