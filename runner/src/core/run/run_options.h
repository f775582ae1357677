// What `runner run` asks of an experiment run (the command line's choices).
#pragma once

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
  int data_workers = 0;  // 0 = threads
};

}  // namespace tlr
