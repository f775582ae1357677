// Builds an augmenter from a bundled plugin library the way the runner does: loaded by the
// runner's PluginLoader (support/bundled_plugins.h), made with its schema defaults filled in.
#pragma once

#include <memory>
#include <string>

#include "support/bundled_plugins.h"
#include "support/plugin_params.h"
#include "tlr/registry.h"

namespace tlr {
namespace testing {

// The registry holding the bundled plugin `target` (e.g. "tlr_augmenter_keras_image").
inline Registry& plugin_registry(const std::string& target) { return bundled_registry(target); }

// e.g. make_plugin_augmenter("keras_image", R"({"rotation_range": 10})"): the other parameters
// take their schema defaults, as in a run.
inline std::unique_ptr<Augmenter> make_plugin_augmenter(const std::string& name,
                                                        const std::string& params_json) {
  const Registry& registry = plugin_registry("tlr_augmenter_" + name);
  return registry.make_augmenter(name, with_defaults(registry, Kind::augmenter, name, params_json),
                                 Context{});
}

}  // namespace testing
}  // namespace tlr
