// The bundled plugins under test, loaded as the runner loads them: by the runner's PluginLoader,
// with every check a run applies (all symbols resolved, the entry point, SDK ABI, libtorch and
// C++ ABI, names not taken). Libraries stay loaded for the life of the test process, as in the
// runner.
#pragma once

#include <stdexcept>
#include <string>

#include "core/plugins/loader.h"
#include "tlr/registry.h"

namespace tlr::testing {

// lib<target>.so in the build's plugin folder, e.g. "tlr_dataset_idx".
inline std::string bundled_library(const std::string& target) {
  return std::string(TLR_PLUGIN_DIR) + "/lib" + target + ".so";
}

// Loads `target` with `loader`; a refused library throws std::runtime_error with the loader's
// one-line problem.
inline void load_bundled(PluginLoader& loader, const std::string& target) {
  if (!loader.load_file(bundled_library(target))) throw std::runtime_error(loader.problems_text());
}

// The test process's registry, holding every bundled plugin asked for so far; `target` is loaded
// into it on the first call that names it.
inline Registry& bundled_registry(const std::string& target) {
  // Never destroyed: components hold code from libraries that are never unloaded.
  static Registry* const registry = new Registry();
  static PluginLoader* const loader = new PluginLoader(*registry);
  load_bundled(*loader, target);
  return *registry;
}

}  // namespace tlr::testing
