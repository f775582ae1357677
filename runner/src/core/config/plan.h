// Step two of reading an experiment: every model fully expanded. For one model: `defaults` <-
// each block of `use`, in order <- the model's own keys (document overrides already applied);
// then one copy per `matrix` value (unless the model says `matrix: false`); then `*.PATH=VALUE`
// overrides; then the top-level seed, the core defaults of experiment.schema.json and each plugin's
// schema defaults. The result is checked against the core schema and each plugin's params schema,
// with every problem reported where the offending value was written (the model, a block, defaults,
// the matrix or an override).
//
// Merge rules (layer_merge.h): mappings merge key by key; anything else (lists, scalars)
// replaces. A null removes the key (`augmenter: null`: no augmentation). A component mapping
// naming another `plugin` than the one it overrides replaces it whole (its params and weights
// belong to the old plugin), and so does `weights`. A model's `use` and `matrix` only steer
// resolution and are not in the resolved model (nor in its hash).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/document.h"
#include "core/config/source_map.h"

namespace tlr {
class Registry;
}

namespace tlr::config {

// One cell of the plan: a model, after matrix expansion, in one of its replicates.
struct ResolvedModel {
  // The cell's name: `model`, with "#<k>" (k = replicate + 1) when the model has replicates >= 2.
  std::string name;
  std::string model;    // "<model>" or, from a matrix, "<model>@<value>[@<value>...]" (runs.model)
  int replicate = 0;    // 0-based
  int replicates = 1;   // of this model
  nlohmann::json json;  // every key explicit; components as {plugin, params[, weights]}; its
                        // `name` is `model`, its `seed` the model's (replicate_seed() derives the
                        // replicate's), and with vary train_sample data.split.train_val_seed is
                        // the replicate's (replicate 0 has none)
  std::string hash;     // content_hash(json): sha256 hex of its canonical JSON
  bool vary_training = true;  // the replicate trains with replicate_seed(seed, replicate)

  // The weights links, checked by resolve(): `publish: NAME` (the model's trained backbone is
  // published under NAME) and `backbone.weights: {published: NAME}` (the backbone starts from the
  // weights an earlier model publishes). "" when absent.
  std::string publishes;
  std::string loads;
  // Index in Plan::models of the model publishing `loads` (always earlier); npos when none.
  std::size_t publisher = static_cast<std::size_t>(-1);

  // The model's own `slurm:` resources (runner submit), as written; null when none. Not part of
  // `json` or `hash`.
  nlohmann::json slurm;

  // Where the model and each of its values were written, for problems found after resolution
  // (the validation probe): `at` is the model's entry, `origins` maps JSON pointers of `json`.
  std::string written_name;  // `name` before matrix expansion
  Position at;
  SourceMap origins;
};

struct Plan {
  std::string experiment;
  std::string file;
  std::string text;                       // the YAML as read, bases included (Document::text)
  std::vector<std::string> bases;         // the files `extends` pulled in, nearest first
  std::vector<std::string> plugin_paths;  // absolute
  std::vector<ResolvedModel> models;      // file order; matrix copies next to each other, each
                                          // model's replicates next to each other
  // The model the others are compared with (`compare_to`, else the first model whose strategy
  // is scratch and that publishes no weights; "" when there is none), as written (no matrix
  // suffix).
  std::string compare_to;
  // The file's `slurm:` section (runner submit), as written; null when none.
  nlohmann::json slurm;
};

struct Resolution {
  Plan plan;                            // meaningful only when diagnostics is empty
  std::vector<Diagnostic> diagnostics;  // the document's and resolution's, sorted by position
};

// Resolves every model of `document`. With a registry, plugin names are checked against the
// components it holds and params against their schemas (defaults filled in); with nullptr,
// plugins are not checked and params get no defaults.
Resolution resolve(const Document& document, const Registry* registry);

// Whether `name` (as given to --only or --rerun) names the cell: its cell name or its model's.
bool names_cell(const ResolvedModel& cell, const std::string& name);

// Indexes into plan.models, in plan order, of the models named in `names` and of every model
// publishing weights one of them loads, transitively (what `run --only` must run). Names not in
// the plan are ignored (the caller checks them).
std::vector<std::size_t> with_publishers(const Plan& plan, const std::vector<std::string>& names);

// The diagnostic for a problem found in `model` after resolution, located at the value under
// `pointer` (a JSON pointer into model.json; its nearest written ancestor, else the model's entry).
Diagnostic diagnostic_at(const ResolvedModel& model, const std::string& pointer,
                         const std::string& message);

// For --dry-run: the files extended, then each model's name, first 12 hex digits of its hash and
// its expanded JSON.
std::string plan_to_text(const Plan& plan);

}  // namespace tlr::config
