// YAML text -> JSON value plus the position of every value, so that JSON Schema checks can report
// at the line and column the user wrote.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/source_map.h"

namespace tlr::config {

struct YamlJson {
  nlohmann::json value;
  SourceMap origins;                    // filled for every value, pointers relative to the root
  std::vector<Diagnostic> diagnostics;  // syntax error (then `value` is null) or duplicate keys
  bool parsed = false;                  // false after a syntax error
};

// Parses `text` (the first document). `file` names the source in positions; `base_pointer` is
// prepended to every pointer of the result (for a value spliced into a larger document). With
// `has_lines` false (an override's value) positions carry the file name only.
// Plain scalars follow the YAML 1.2 core schema: null (~, null, empty), booleans (true, false),
// integers (12, -3, 0x1f, 0o17), floats (1.5, 1e-3, 1.0e-4, .inf, .nan); anything else, and every
// quoted scalar, is a string. Explicit tags (!!str, !!int, ...) are honoured.
YamlJson yaml_to_json(const std::string& text, const std::string& file,
                      const std::string& base_pointer = "", bool has_lines = true);

}  // namespace tlr::config
