// The identity of a cell (one model of the plan, after matrix expansion): the sha256 of everything
// that decides its result, so that a rerun can tell a finished cell from a changed one.
//
// Part of the identity (docs/design.md, "Cell identity", says the same):
//   - the resolved model (canonical JSON: every component, param and default, the training block);
//   - the seed the cell trains with (--seed included) and the device it runs on (resolved: "auto"
//     becomes the device it picks);
//   - the data: the dataset plugin's fingerprint (file list, sizes, mtimes and parameters; each
//     dataset's contract) — the split is decided by the resolved `data` block;
//   - the sha256 of every weight file the backbone loads, and for weights another model publishes,
//     that model's identity (its file exists only after it ran);
//   - the sha256 of every file a component parameter names (a TorchScript backbone's `file`);
//   - each plugin library used: plugin name, version and the sha256 of its .so;
//   - the runner's version and SDK ABI.
// Not part of it: the thread count (it changes the last bits of a float sum, not the experiment),
// --results/--db/--quiet, the experiment's name and file path, and the model's position in the
// file.
//
// Thread safety: single-threaded; one per experiment run.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/plan.h"
#include "core/run/data_source.h"
#include "core/run/plugin_uses.h"
#include "core/run/run_options.h"

namespace tlr {

class Store;

struct CellIdentity {
  std::string hash;      // sha256 hex of canonical_json(parts)
  nlohmann::json parts;  // what was hashed (recorded nowhere; for tests and --dry-run)
  std::string short_hash() const { return hash.substr(0, 12); }
};

// The seed a cell trains with: --seed, else the model's `seed`, made its replicate's by
// config::replicate_seed() (when the model varies its training).
std::uint64_t cell_seed(const config::ResolvedModel& model, const RunOptions& options);

class CellIdentities {
 public:
  // `store` caches file hashes (Store::file_sha256); `data` builds the datasets (a dataset lists
  // its files once per process, shared with the run). Relative paths in params resolve against
  // `context.experiment_dir`.
  CellIdentities(const config::Plan& plan, const RunOptions& options, const Context& context,
                 DataSource& data, PluginUses& plugins, Store& store);

  // The identity of plan.models[index] (and of its publishers first). Throws tlr::Error when a
  // dataset cannot be listed or a weight file cannot be read.
  const CellIdentity& of(std::size_t index);

 private:
  const config::Plan& plan_;
  const RunOptions& options_;
  const Context& context_;
  DataSource& data_;
  PluginUses& plugins_;
  Store& store_;
  std::vector<CellIdentity> known_;  // by model index; empty hash = not computed yet
};

}  // namespace tlr
