// Step one of reading an experiment: the YAML file as a JSON document with positions, --set
// overrides applied, checked against schemas/experiment.schema.json. Plugins are not needed yet,
// so the caller can load the plugin_paths the file names before resolve() (plan.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/source_map.h"

namespace tlr::config {

// A `--set '*.PATH=VALUE'` override: forced into every resolved model.
struct ForcedValue {
  std::string label;              // "--set *.training.epochs=1", the "file" of its diagnostics
  std::vector<std::string> path;  // {"training", "epochs"}
  nlohmann::json value;
  SourceMap origins;  // keyed under "/*" + the path's pointer
};

struct Document {
  std::string file;  // as given
  // The YAML text as read. With `extends`, each base file's text follows as a further YAML
  // document headed "--- # extends: <base>", so that what is recorded is all the run was made of.
  std::string text;
  // The files `extends` pulled in, nearest first, named as positions name them (the `extends`
  // value joined to its file's folder).
  std::vector<std::string> bases;
  nlohmann::json schema;  // the core schema
  nlohmann::json root;    // the content (bases merged under it) with the document overrides applied
  SourceMap origins;      // JSON pointer in `root` -> where (in which file) the user wrote it
  // This file's `experiment:`, or its name without extension; never a base's.
  std::string experiment;
  // Absolute, each resolved against the folder of the file that wrote it.
  std::vector<std::string> plugin_paths;
  std::vector<ForcedValue> forced;
  // Every problem found so far: this file's, then each base's, each sorted by position.
  std::vector<Diagnostic> diagnostics;
  // False when the file (or the schema) could not be read or parsed into a mapping: nothing
  // further can be checked and resolve() only repeats `diagnostics`.
  bool usable = false;
};

// Reads `file`, applies `overrides` ("PATH=VALUE" as given to --set, in order) and checks the
// document against the JSON Schema in `schema_file`, or against the runner's built-in schema
// (builtin_schema.h) when `schema_file` is empty. Never throws for bad input: every problem is in
// the result's diagnostics.
//   PATH is dotted: `defaults.training.epochs`, `models.<name>.training.epochs` (models addressed
//   by name), `matrix.<dotted matrix key>`; missing mappings on the way are created. VALUE is YAML
//   (`3`, `1e-4`, `'3'`, `{name: adam}`, `null`). `*.PATH=VALUE` is kept in `forced` and set in
//   every resolved model by resolve(). `extends` cannot be set, nor `*.matrix` (forced values
//   come after matrix expansion).
//   `extends: BASE.yaml` (relative to the file's folder) reads BASE first, recursively, and
//   merges the file's top-level keys over it: `blocks` and `defaults` deeply (layer_merge.h, with
//   nulls kept so that they still remove the key from a model), every other key replaces the
//   base's; the base's `experiment` is dropped. Every value keeps the position where it was
//   written, in whichever file. A base that cannot be read or is not a usable experiment mapping,
//   and a cycle, are reported at the `extends` value, the base's own problems after it.
Document load(const std::string& file, const std::vector<std::string>& overrides,
              const std::string& schema_file);

// The schema file load() should read: $TLR_SCHEMA_DIR/experiment.schema.json when that variable
// is set (to try an edited schema without rebuilding), else "", the built-in schema. No path of
// the source tree or of the configure step is looked at, so a moved install behaves the same.
std::string find_schema_file();

}  // namespace tlr::config
