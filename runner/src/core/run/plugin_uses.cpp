#include "core/run/plugin_uses.h"

#include "engine/weights/state_dict.h"

namespace tlr {

std::vector<PluginUse> PluginUses::of(const nlohmann::json& model) {
  struct Slot {
    const char* pointer;
    Kind kind;
  };
  static const Slot kSlots[] = {{"/data/dataset", Kind::dataset},
                                {"/augmenter", Kind::augmenter},
                                {"/backbone", Kind::backbone},
                                {"/head", Kind::head},
                                {"/strategy", Kind::strategy}};
  std::vector<PluginUse> uses;
  for (const Slot& slot : kSlots) {
    const nlohmann::json::json_pointer at(slot.pointer);
    if (!model.contains(at) || !model[at].is_object() || !model[at].contains("plugin")) continue;
    const std::string name = model[at]["plugin"].get<std::string>();
    const ComponentInfo* info = registry_.find(slot.kind, name);
    if (info == nullptr || info->library.empty()) continue;
    auto hash = sha256_.find(info->library);
    if (hash == sha256_.end()) {
      hash = sha256_.emplace(info->library, sha256_of_file(info->library)).first;
    }
    uses.push_back({kind_name(slot.kind), name, info->plugin, info->plugin_version, info->library,
                    hash->second});
  }
  return uses;
}

}  // namespace tlr
