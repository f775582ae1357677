#include "models/plugin_harness.h"

#include <dlfcn.h>

#include <stdexcept>

#include "support/plugin_params.h"

namespace tlr::testing {

namespace {

void load_plugin(Registry& registry, const std::string& target) {
  const std::string path = std::string(TLR_PLUGIN_DIR) + "/lib" + target + ".so";
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) throw std::runtime_error(path + ": " + dlerror());
  using Entry = const tlr_plugin_descriptor* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, TLR_PLUGIN_ENTRY_SYMBOL));
  if (entry == nullptr) throw std::runtime_error(path + ": no " TLR_PLUGIN_ENTRY_SYMBOL);
  const tlr_plugin_descriptor* info = entry();
  registry.set_origin(path, info->name, info->version);
  info->register_fn(registry);
}

}  // namespace

Registry& model_registry() {
  static Registry* registry = [] {
    auto* r = new Registry();
    for (const char* target : {"tlr_backbone_basic_cnn", "tlr_backbone_vgg", "tlr_backbone_resnet",
                               "tlr_backbone_mobilenet_v2", "tlr_backbone_torchscript",
                               "tlr_head_dense", "tlr_head_linear", "tlr_head_gap_linear"}) {
      load_plugin(*r, target);
    }
    return r;
  }();
  return *registry;
}

std::shared_ptr<Backbone> make_backbone(const std::string& name, const std::string& params_json) {
  const Registry& registry = model_registry();
  return registry.make_backbone(name, with_defaults(registry, Kind::backbone, name, params_json),
                                Context{});
}

torch::nn::Sequential make_head(const std::string& name, const std::string& params_json,
                                const std::vector<std::int64_t>& in_shape, std::int64_t outputs) {
  const Registry& registry = model_registry();
  return registry
      .make_head(name, with_defaults(registry, Kind::head, name, params_json), Context{})
      ->build(in_shape, outputs);
}

}  // namespace tlr::testing
