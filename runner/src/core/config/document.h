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
  std::string file;                       // as given
  std::string text;                       // the YAML text as read
  nlohmann::json schema;                  // the core schema
  nlohmann::json root;                    // the file's content with the document overrides applied
  SourceMap origins;                      // JSON pointer in `root` -> where the user wrote it
  std::string experiment;                 // `experiment:`, or the file name without extension
  std::vector<std::string> plugin_paths;  // absolute, resolved against the file's folder
  std::vector<ForcedValue> forced;
  std::vector<Diagnostic> diagnostics;  // every problem found so far, sorted by position
  // False when the file (or the schema) could not be read or parsed into a mapping: nothing
  // further can be checked and resolve() only repeats `diagnostics`.
  bool usable = false;
};

// Reads `file`, applies `overrides` ("PATH=VALUE" as given to --set, in order) and checks the
// document against the JSON Schema in `schema_file`. Never throws for bad input: every problem
// is in the result's diagnostics.
//   PATH is dotted: `defaults.training.epochs`, `models.<name>.training.epochs` (models addressed
//   by name), `matrix.<dotted matrix key>`; missing mappings on the way are created. VALUE is YAML
//   (`3`, `1e-4`, `'3'`, `{name: adam}`, `null`). `*.PATH=VALUE` is kept in `forced` and set in
//   every resolved model by resolve().
Document load(const std::string& file, const std::vector<std::string>& overrides,
              const std::string& schema_file);

// Where experiment.schema.json is: $TLR_SCHEMA_DIR, else the source tree's schemas/
// (TLR_SOURCE_DIR), else the installed copy (TLR_INSTALL_SCHEMA_DIR). The first candidate that
// exists; the source-tree path when none does.
std::string find_schema_file();

}  // namespace tlr::config
