// `runner run FILE --jobs N`: the cells of a plan in up to N worker processes at once.
//
// Each worker is this runner re-executed as `run FILE ... --worker-of <invocation> --only <cell>`:
// it skips, resumes or runs that one cell exactly as a sequential run would (experiment_run.h),
// records it under the coordinator's invocation, and exits. Of the cells ready to start, the
// coordinator starts first the one with the most work ahead: its own training work (training
// images × epochs, from the resolved config) plus the longest of the cells waiting for its
// published weights; plan order among equals. So a publisher goes before a long cell nobody waits
// for, and no long cell starts last. A cell loading weights another cell publishes is ready once
// that cell's worker has ended. Every worker gets the
// same thread count (the caller splits the budget), so a cell's numbers do not depend on how many
// run beside it.
//
// Workers run in their own process group: a Ctrl-C at the terminal reaches only the coordinator,
// which forwards the signal it got (SIGINT, SIGTERM, SIGUSR1) to every live worker once, starts no
// new cell and waits for the running ones to checkpoint and exit. One failing cell does not stop
// the others.
//
// Thread safety: call from the main thread, with StopSignalHandlers installed (stop_signal.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/config/plan.h"

namespace tlr {

struct ParallelOutcome {
  int failed = 0;         // workers that exited 1 (a cell failed) or crashed
  int interrupted = 0;    // workers stopped by a signal
  int stop_signal = 0;    // the signal the coordinator got, 0 for none
  std::vector<int> exit;  // per chosen cell, the worker's exit status (-1: never started)
};

// Runs plan.models[i] for every i in `cells` (plan order) with at most `jobs` workers at once.
// `worker_argv(i)` gives the full argv of cell i's worker (argv[0] the runner's path).
ParallelOutcome run_cells_in_parallel(
    const config::Plan& plan, const std::vector<std::size_t>& cells, int jobs,
    const std::function<std::vector<std::string>(std::size_t)>& worker_argv);

// This executable's path (/proc/self/exe), for re-executing it as a worker.
std::string self_executable();

}  // namespace tlr
