// Runs the cells (models, after matrix expansion) of a resolved plan one after another, recording
// each in the run store. Per cell, by its identity (cell_identity.h):
//   - an identical run already completed in this store: skipped, one line says which run; its row
//     still belongs to this invocation (experiment_runs 'skipped') and to the comparison table;
//   - an identical run was interrupted (stop signal, or the process died): resumed in that same
//     run from its checkpoints (RunCell::fit), epoch rows after the last checkpoint dropped;
//   - an identical run is running in another live process: skipped, one line says where;
//   - otherwise (or --rerun): a new run.
// A cell that fails is recorded failed with its reason and the next one still runs; a model
// loading weights its publisher failed to publish fails with that reason. A stop signal ends the
// loop after the running cell is recorded 'interrupted'.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/config/plan.h"
#include "core/run/run_options.h"
#include "tlr/registry.h"

namespace tlr {

class Store;

// What became of one cell in this invocation.
struct CellOutcome {
  std::string model;
  std::int64_t run_id = 0;  // 0: no run was recorded
  std::string how;          // "ran", "resumed", "skipped"
  std::string status;       // "completed", "failed", "interrupted"
};

struct ExperimentOutcome {
  std::int64_t experiment_id = 0;
  int completed = 0;  // ran or resumed to completion in this invocation
  int failed = 0;
  int skipped = 0;  // completed earlier: identical runs in the store
  bool interrupted = false;
  std::vector<CellOutcome> cells;  // in plan order, the ones that ran, resumed or were skipped
  std::vector<std::int64_t> run_ids() const;
};

// Records into `store` (options.db_path is not opened again). Expects stop-signal handlers
// installed (stop_signal.h) for a clean stop.
ExperimentOutcome run_experiment(const config::Plan& plan, const Registry& registry,
                                 const RunOptions& options, Store& store);

}  // namespace tlr
