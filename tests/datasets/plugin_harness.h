// Loads one built dataset plugin with the runner's PluginLoader (support/bundled_plugins.h), so a
// test can build its components from JSON params. Libraries stay loaded for the life of the test
// process, as in the runner.
#pragma once

#include <memory>
#include <string>

#include "support/bundled_plugins.h"
#include "support/plugin_params.h"
#include "tlr/params.h"
#include "tlr/registry.h"

namespace tlr::testing {

class PluginHarness {
 public:
  // `target` names a library of the build's plugin folder, e.g. "tlr_dataset_idx".
  explicit PluginHarness(const std::string& target) { load_bundled(loader_, target); }

  std::unique_ptr<Dataset> dataset(const std::string& name, const std::string& params_json,
                                   const Context& context = Context()) const {
    // The parameters not given take their schema defaults, as in a run.
    return registry_.make_dataset(name, with_defaults(registry_, Kind::dataset, name, params_json),
                                  context);
  }

  const Registry& registry() const { return registry_; }
  // The plugin's name, as its entry point gives it.
  const std::string& plugin_name() const { return loader_.loaded().front().name; }

 private:
  Registry registry_;
  PluginLoader loader_{registry_};
};

}  // namespace tlr::testing
