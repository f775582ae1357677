// The identity of a resolved model's configuration.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace tlr::config {

// Canonical JSON of `value`: keys sorted, no whitespace (nlohmann's dump of a json object).
std::string canonical_json(const nlohmann::json& value);
// sha256 hex (64 characters) of canonical_json(value).
std::string content_hash(const nlohmann::json& value);

}  // namespace tlr::config
