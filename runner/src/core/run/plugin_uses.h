// Which plugin library each component of a model comes from, with the sha256 of the library file
// (recorded with every run in run_plugins). Hashes are computed once per library per process.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "tlr/registry.h"

namespace tlr {

class PluginUses {
 public:
  explicit PluginUses(const Registry& registry) : registry_(registry) {}
  // The components of a resolved model (data.dataset, augmenter, backbone, head, strategy) that
  // name a plugin the registry holds. Components registered without a library (tests) are left
  // out.
  std::vector<PluginUse> of(const nlohmann::json& model);

 private:
  const Registry& registry_;
  std::map<std::string, std::string> sha256_;  // library -> hash
};

}  // namespace tlr
