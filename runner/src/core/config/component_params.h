// A component's params as the runner hands them to its factory: what the YAML wrote, with the
// defaults of the component's params schema filled in (the plan does this for every model; this is
// the same step for a caller that builds a component outside a plan: `runner plugins`, benchmarks,
// tests).
#pragma once

#include <nlohmann/json.hpp>

#include "tlr/params.h"
#include "tlr/registry.h"

namespace tlr::config {

// Throws tlr::Error naming the component when its schema is not JSON.
Params params_with_defaults(const ComponentInfo& component, const nlohmann::json& params);

// The same for the component `name` of `kind` in `registry`; throws tlr::Error when it is absent.
Params params_with_defaults(const Registry& registry, Kind kind, const std::string& name,
                            const nlohmann::json& params);

}  // namespace tlr::config
