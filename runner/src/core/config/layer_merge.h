// How one layer of settings goes over another, the rule shared by model resolution (defaults <-
// blocks <- model, plan.h) and `extends` (a file's blocks and defaults over its base's,
// document.h): mappings merge key by key; anything else (lists, scalars) replaces. A component
// mapping naming another `plugin` than the one it overrides replaces it whole (its params and
// weights belong to the old plugin), and so does `weights`. The source map follows every value.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/config/source_map.h"

namespace tlr::config {

// What a null in the layer does: `remove` the key (resolving a model: `augmenter: null` means no
// augmenter), or `keep` it as a value (extending a file: the null must still remove the key when
// the merged defaults or block is later applied to a model).
enum class Nulls { remove, keep };

// Merges `layer` (at `layer_pointer` of `layer_origins`) into `target` (at `target_pointer` of
// `target_origins`). Keys in `skip` are left out.
void merge_layer(const nlohmann::json& layer, const std::string& layer_pointer,
                 const SourceMap& layer_origins, nlohmann::json* target,
                 const std::string& target_pointer, SourceMap* target_origins, Nulls nulls,
                 const std::set<std::string>& skip = {});

// `value` without the null members of its mappings, recursively (lists are kept as they are).
nlohmann::json without_nulls(const nlohmann::json& value);

}  // namespace tlr::config
