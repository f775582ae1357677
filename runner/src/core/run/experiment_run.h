// Runs the models of a resolved plan one after another, recording each in the run store: a model
// that fails is recorded failed with its reason and the next one still runs.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "core/config/plan.h"
#include "tlr/registry.h"

namespace tlr {

struct RunOptions {
  std::string db_path = "results/results.db";
  std::string results_dir = "results";  // artifacts under <results_dir>/<experiment>/
  std::string cache_dir;                // "" = <results_dir>/cache
  int threads = 0;                      // torch intra-op threads (set by the caller)
  std::vector<std::string> only;        // model names to run; empty = all
  long long seed_override = -1;         // --seed: replaces every model's seed
  bool quiet = false;
  int data_workers = 0;  // 0 = threads
};

struct ExperimentOutcome {
  std::int64_t experiment_id = 0;
  int completed = 0;
  int failed = 0;
  bool interrupted = false;
};

// Set by the SIGINT handler; the running epoch stops at the next batch and the run is recorded
// 'interrupted'.
std::atomic<bool>& interrupt_requested();

ExperimentOutcome run_experiment(const config::Plan& plan, const Registry& registry,
                                 const RunOptions& options);

}  // namespace tlr
