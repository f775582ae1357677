#include "core/config/layer_merge.h"

namespace tlr::config {
namespace {

using nlohmann::json;

// True when `layer` must replace `current` whole instead of merging into it.
bool replaces(const std::string& key, const json& current, const json& layer) {
  if (key == "weights") return true;
  return current.contains("plugin") && layer.contains("plugin") &&
         current["plugin"] != layer["plugin"];
}

}  // namespace

json without_nulls(const json& value) {
  if (!value.is_object()) return value;
  json out = json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (!it.value().is_null()) out[it.key()] = without_nulls(it.value());
  }
  return out;
}

void merge_layer(const json& layer, const std::string& layer_pointer,
                 const SourceMap& layer_origins, json* target, const std::string& target_pointer,
                 SourceMap* target_origins, Nulls nulls, const std::set<std::string>& skip) {
  for (auto it = layer.begin(); it != layer.end(); ++it) {
    const std::string& key = it.key();
    if (skip.count(key) > 0) continue;
    const std::string from = pointer_append(layer_pointer, key);
    const std::string to = pointer_append(target_pointer, key);
    const json& value = it.value();
    if (value.is_null() && nulls == Nulls::remove) {
      target->erase(key);
      erase_subtree(target_origins, to);
      continue;
    }
    json* current = target->contains(key) ? &(*target)[key] : nullptr;
    if (value.is_object() && current != nullptr && current->is_object() &&
        !replaces(key, *current, value)) {
      (*target_origins)[to] = find_origin(layer_origins, from);
      merge_layer(value, from, layer_origins, current, to, target_origins, nulls);
      continue;
    }
    (*target)[key] = nulls == Nulls::remove ? without_nulls(value) : value;
    erase_subtree(target_origins, to);
    copy_subtree(layer_origins, from, target_origins, to);
  }
}

}  // namespace tlr::config
