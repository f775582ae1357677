#include "core/run/cell_identity.h"

#include <torch/torch.h>

#include <filesystem>
#include <system_error>

#include "core/config/content_hash.h"
#include "core/config/replicate_seed.h"
#include "core/run/precision_choice.h"
#include "core/run/run_cell.h"
#include "core/store/store.h"
#include "tlr/abi.h"

namespace tlr {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool names_a_file(const std::string& path) {
  std::error_code ec;
  return !path.empty() && fs::is_regular_file(path, ec);
}

// Every string under a component's params that names an existing file, with its sha256.
void hash_named_files(const json& value, const std::string& pointer, const Context& context,
                      Store& store, json& out) {
  if (value.is_object()) {
    for (const auto& [key, child] : value.items()) {
      hash_named_files(child, pointer + "/" + key, context, store, out);
    }
  } else if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      hash_named_files(value[i], pointer + "/" + std::to_string(i), context, store, out);
    }
  } else if (value.is_string()) {
    const std::string path = context.resolve(value.get<std::string>());
    if (names_a_file(path)) out[pointer] = store.file_sha256(path);
  }
}

}  // namespace

std::uint64_t cell_seed(const config::ResolvedModel& model, const RunOptions& options) {
  const std::uint64_t seed = options.seed_override >= 0
                                 ? static_cast<std::uint64_t>(options.seed_override)
                                 : model.json.value("seed", 42ULL);
  return config::replicate_seed(seed, model.vary_training ? model.replicate : 0);
}

CellIdentities::CellIdentities(const config::Plan& plan, const RunOptions& options,
                               const Context& context, DataSource& data, PluginUses& plugins,
                               Store& store)
    : plan_(plan),
      options_(options),
      context_(context),
      data_(data),
      plugins_(plugins),
      store_(store),
      known_(plan.models.size()) {}

const CellIdentity& CellIdentities::of(std::size_t index) {
  CellIdentity& identity = known_.at(index);
  if (!identity.hash.empty()) return identity;
  const config::ResolvedModel& model = plan_.models[index];

  json parts;
  const torch::Device device = device_of(model.json, options_.device);
  // `auto` decides by the machine: the identity holds what it decided, so `auto` where it means
  // fp32 is the same cell as `fp32` and as no key at all.
  const std::string precision = precision_name(precision_of(model.json, device));
  parts["config"] = model.json;
  json& training = parts["config"]["training"];
  if (precision == "fp32") {
    training.erase("precision");  // what a file without the key resolves to
  } else {
    training["precision"] = precision;
  }
  parts["seed"] = cell_seed(model, options_);
  parts["device"] = device.str();
  parts["precision"] = precision;
  parts["data"] = data_.prepare(model.json["data"]).dataset->fingerprint();

  json weights = nullptr;
  const json& backbone = model.json.value("backbone", json::object());
  if (backbone.contains("weights") && !backbone["weights"].is_null()) {
    const json& w = backbone["weights"];
    if (w.is_object() && w.contains("published")) {
      // The file exists only once the publisher ran: its identity stands for it.
      weights = {{"published", of(model.publisher).hash}};
    } else {
      const std::string file = w.is_string() ? w.get<std::string>() : w.value("file", "");
      weights = {{"sha256", store_.file_sha256(context_.resolve(file))}};
    }
  }
  parts["weights"] = weights;

  json files = json::object();
  for (const char* slot : {"/data/dataset", "/augmenter", "/backbone", "/head", "/strategy"}) {
    const json::json_pointer at(slot);
    if (model.json.contains(at) && model.json[at].is_object() &&
        model.json[at].contains("params")) {
      hash_named_files(model.json[at]["params"], std::string(slot) + "/params", context_, store_,
                       files);
    }
  }
  parts["files"] = files;

  json libraries = json::array();
  for (const PluginUse& use : plugins_.of(model.json)) {
    libraries.push_back({{"kind", use.kind},
                         {"plugin", use.plugin},
                         {"version", use.version},
                         {"sha256", use.sha256}});
  }
  parts["plugins"] = libraries;
  parts["runner"] = {{"version", TLR_VERSION}, {"sdk_abi", TLR_ABI_VERSION}};

  identity.parts = std::move(parts);
  identity.hash = config::content_hash(identity.parts);
  return identity;
}

}  // namespace tlr
