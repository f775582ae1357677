// A component's params in a test, as the runner hands them to its factory: the JSON-Schema
// defaults of the component filled in by the function config::resolve uses (fill_defaults), so a
// test writes only the keys it is about. schema_problems() says what the runner's schema check
// refuses in a params object, for the limits a plugin leaves to its schema.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/config/component_params.h"
#include "core/config/schema_checker.h"
#include "core/config/source_map.h"
#include "tlr/params.h"
#include "tlr/registry.h"

namespace tlr::testing {

inline const ComponentInfo& component_info(const Registry& registry, Kind kind,
                                           const std::string& name) {
  const ComponentInfo* info = registry.find(kind, name);
  if (info == nullptr) {
    throw std::runtime_error(std::string("no ") + kind_name(kind) + " '" + name + "' is loaded");
  }
  return *info;
}

// `params_json` with every default of the component's schema filled in.
inline Params with_defaults(const Registry& registry, Kind kind, const std::string& name,
                            const std::string& params_json) {
  return config::params_with_defaults(component_info(registry, kind, name),
                                      nlohmann::json::parse(params_json));
}

// The messages of the runner's schema check of `params_json` (defaults filled in first, as the
// runner does); empty when the schema accepts it.
inline std::vector<std::string> schema_problems(const Registry& registry, Kind kind,
                                                const std::string& name,
                                                const std::string& params_json) {
  const nlohmann::json schema = nlohmann::json::parse(component_info(registry, kind, name).schema);
  nlohmann::json params = nlohmann::json::parse(params_json);
  config::fill_defaults(schema, schema, &params);
  // No positions; the params object is called "params" ("unknown key 'x' in params").
  config::SourceMap names;
  names[""].container = "params";
  names[""].path = "params";
  const config::SourceMapLocator locator(names);
  const config::CompiledSchema compiled(schema);
  std::vector<config::Diagnostic> found;
  config::SchemaChecker(schema, locator)
      .check_with_backstop(schema, compiled, params, "", "params", &found);
  std::vector<std::string> messages;
  for (const auto& d : found) messages.push_back(d.message);
  return messages;
}

}  // namespace tlr::testing
