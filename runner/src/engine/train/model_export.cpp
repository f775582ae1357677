#include "engine/train/model_export.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/train/parameters.h"
#include "tlr/error.h"

namespace tlr {

namespace {

nlohmann::json tensor_list(const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& item : tensors) {
    list.push_back({{"name", item.key()}, {"shape", item.value().sizes().vec()}});
  }
  return list;
}

}  // namespace

ExportedModel export_model(Classifier& model, const std::string& dir,
                           const ModelDescription& description) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": error: cannot create directory: " + ec.message());
  ExportedModel out{(fs::path(dir) / "model.pt").string(), (fs::path(dir) / "model.json").string()};

  try {
    torch::serialize::OutputArchive archive;
    model.save(archive);
    archive.save_to(out.weights);
  } catch (const c10::Error& e) {
    throw Error(out.weights + ": error: cannot save the weights: " + e.what_without_backtrace());
  }

  nlohmann::json config = nullptr;
  if (!description.config_json.empty()) {
    config = nlohmann::json::parse(description.config_json, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) throw Error("export: the model's config is not valid JSON");
  }
  nlohmann::json doc = {
      {"format", "tlr-classifier-weights/1"},
      {"note",
       "model.pt is a torch::serialize archive of the classifier's parameters and buffers "
       "(keys backbone.* and head.*), not TorchScript; rebuild the backbone and head from "
       "'config' with the same plugins, then load it with torch::serialize::InputArchive"},
      {"model", description.model_name},
      {"classes", description.classes},
      {"output", output_mode_name(description.mode)},
      {"output_units",
       output_units(description.mode, static_cast<int>(description.classes.size()))},
      {"input_shape", description.input_shape},
      {"has_backbone", model.backbone != nullptr},
      {"parameters", count_parameters(model)},
      {"trainable_parameters", count_trainable(model)},
      {"tensors", tensor_list(model.named_parameters())},
      {"buffers", tensor_list(model.named_buffers())},
      {"config", config},
  };
  std::ofstream file(out.description);
  file << doc.dump(2) << '\n';
  if (!file) throw Error(out.description + ": error: cannot write the model description");
  return out;
}

}  // namespace tlr
