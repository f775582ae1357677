#include "core/config/component_params.h"

#include "core/config/schema_checker.h"
#include "tlr/error.h"

namespace tlr::config {

Params params_with_defaults(const ComponentInfo& component, const nlohmann::json& params) {
  const nlohmann::json schema = nlohmann::json::parse(component.schema, nullptr, false);
  if (schema.is_discarded()) {
    throw Error(std::string(kind_name(component.kind)) + " '" + component.name +
                "' has an unusable params schema (not JSON)");
  }
  nlohmann::json filled = params.is_null() ? nlohmann::json::object() : params;
  fill_defaults(schema, schema, &filled);
  return Params::from_json(filled.dump());
}

Params params_with_defaults(const Registry& registry, Kind kind, const std::string& name,
                            const nlohmann::json& params) {
  const ComponentInfo* info = registry.find(kind, name);
  if (info == nullptr) throw Error(std::string("unknown ") + kind_name(kind) + " '" + name + "'");
  return params_with_defaults(*info, params);
}

}  // namespace tlr::config
