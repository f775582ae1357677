// Runs the models of a resolved plan one after another, recording each in the run store: a model
// that fails is recorded failed with its reason and the next one still runs. A model loading
// weights its publisher failed to publish fails with that reason. A publisher whose identical
// config already published its weights (the file is content-addressed by the model's hash) is not
// run again and gets no new run: the run that did the work stays the one reports show.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/config/plan.h"
#include "core/run/run_options.h"
#include "tlr/registry.h"

namespace tlr {

class Store;

struct ExperimentOutcome {
  std::int64_t experiment_id = 0;
  int completed = 0;
  int failed = 0;
  int reused = 0;  // publishers whose weights an identical earlier run published
  bool interrupted = false;
};

// Set by the SIGINT handler; the running epoch stops at the next batch and the run is recorded
// 'interrupted'.
std::atomic<bool>& interrupt_requested();

// Records into `store` (options.db_path is not opened again).
ExperimentOutcome run_experiment(const config::Plan& plan, const Registry& registry,
                                 const RunOptions& options, Store& store);

}  // namespace tlr
