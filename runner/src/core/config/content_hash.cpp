#include "core/config/content_hash.h"

#include "engine/util/sha256.h"

namespace tlr::config {

std::string canonical_json(const nlohmann::json& value) { return value.dump(); }

std::string content_hash(const nlohmann::json& value) {
  const std::string text = canonical_json(value);
  return tlr::sha256_hex(text.data(), text.size());
}

}  // namespace tlr::config
