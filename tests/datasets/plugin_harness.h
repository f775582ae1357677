// Loads one built dataset plugin the way the runner does (dlopen with every symbol resolved, the
// entry point, register_fn into a Registry), so a test can build its components from JSON params.
// Libraries stay loaded for the life of the test process, as in the runner.
#pragma once

#include <dlfcn.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "support/plugin_params.h"
#include "tlr/params.h"
#include "tlr/plugin.h"
#include "tlr/registry.h"

namespace tlr::testing {

class PluginHarness {
 public:
  // `library` is a file name in the build's plugin folder, e.g. "libtlr_dataset_idx.so".
  explicit PluginHarness(const std::string& library)
      : path_(std::string(TLR_PLUGIN_DIR) + "/" + library) {
    void* handle = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) throw std::runtime_error(path_ + ": " + dlerror());
    using Entry = const tlr_plugin_descriptor* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, TLR_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) throw std::runtime_error(path_ + ": no " TLR_PLUGIN_ENTRY_SYMBOL);
    descriptor_ = entry();
    if (descriptor_->abi_version != TLR_ABI_VERSION) {
      throw std::runtime_error(path_ + ": ABI version mismatch");
    }
    registry_.set_origin(path_, descriptor_->name, descriptor_->version);
    descriptor_->register_fn(registry_);
  }

  std::unique_ptr<Dataset> dataset(const std::string& name, const std::string& params_json,
                                   const Context& context = Context()) const {
    // The parameters not given take their schema defaults, as in a run.
    return registry_.make_dataset(name, with_defaults(registry_, Kind::dataset, name, params_json),
                                  context);
  }

  const Registry& registry() const { return registry_; }
  const tlr_plugin_descriptor& descriptor() const { return *descriptor_; }

 private:
  std::string path_;
  const tlr_plugin_descriptor* descriptor_ = nullptr;
  Registry registry_;
};

}  // namespace tlr::testing
