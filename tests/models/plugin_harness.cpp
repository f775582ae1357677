#include "models/plugin_harness.h"

#include "support/bundled_plugins.h"
#include "support/plugin_params.h"

namespace tlr::testing {

Registry& model_registry() {
  static Registry* registry = [] {
    // A registry of its own: Schemas.EveryParameterHasTypeDefaultAndDescription counts its
    // components.
    auto* r = new Registry();
    auto* loader = new PluginLoader(*r);
    for (const char* target : {"tlr_backbone_basic_cnn", "tlr_backbone_vgg", "tlr_backbone_resnet",
                               "tlr_backbone_mobilenet_v2", "tlr_backbone_torchscript",
                               "tlr_head_dense", "tlr_head_linear", "tlr_head_gap_linear"}) {
      load_bundled(*loader, target);
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
