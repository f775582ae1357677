// Builds an augmenter from a bundled plugin library the way the runner does: dlopen the .so from
// the build's plugin folder, call its entry point, register, make. Libraries stay loaded for the
// life of the test process (as in the runner).
#pragma once

#include <dlfcn.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "support/plugin_params.h"
#include "tlr/plugin.h"
#include "tlr/registry.h"

namespace tlr {
namespace testing {

inline Registry& plugin_registry(const std::string& target) {
  static std::map<std::string, std::unique_ptr<Registry>> loaded;
  auto it = loaded.find(target);
  if (it != loaded.end()) return *it->second;
  const std::string path = std::string(TLR_PLUGIN_DIR) + "/lib" + target + ".so";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(path + ": " + dlerror());
  using Entry = const tlr_plugin_descriptor* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, TLR_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) throw std::runtime_error(path + ": no " TLR_PLUGIN_ENTRY_SYMBOL);
  const tlr_plugin_descriptor* info = entry();
  if (info->abi_version != TLR_ABI_VERSION) throw std::runtime_error(path + ": wrong ABI");
  auto registry = std::make_unique<Registry>();
  registry->set_origin(path, info->name, info->version);
  info->register_fn(*registry);
  return *loaded.emplace(target, std::move(registry)).first->second;
}

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
