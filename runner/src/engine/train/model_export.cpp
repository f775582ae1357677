#include "engine/train/model_export.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/train/module_layout.h"
#include "engine/train/parameters.h"
#include "engine/util/atomic_file.h"
#include "engine/weights/state_dict.h"
#include "tlr/error.h"

namespace tlr {

namespace {

using nlohmann::json;

json tensor_list(const torch::OrderedDict<std::string, torch::Tensor>& tensors) {
  json list = json::array();
  for (const auto& item : tensors) {
    list.push_back({{"name", item.key()}, {"shape", item.value().sizes().vec()}});
  }
  return list;
}

const char* fit_name(ImageFit::Mode mode) {
  return mode == ImageFit::Mode::center_crop ? "center_crop" : "stretch";
}

json preprocessing(const InputSpec& input) {
  return {{"size", {input.height, input.width}},
          {"channels", input.channels},
          {"color", input.channels == 1 ? "grayscale" : "RGB"},
          {"fit", fit_name(input.eval_fit.mode)},
          {"crop_fraction", input.eval_fit.crop_fraction},
          {"scale", input.scale},
          {"mean", input.channel_mean()},
          {"std", input.channel_std()},
          {"formula", "(pixel * scale - mean[c]) / std[c], pixel 0..255, channels first (C×H×W)"}};
}

json component(const json& config, const char* slot) {
  if (!config.is_object() || !config.contains(slot) || !config[slot].is_object()) return nullptr;
  const json& spec = config[slot];
  return {{"plugin", spec.value("plugin", "")}, {"params", spec.value("params", json::object())}};
}

void write_text(const std::string& path, const std::string& text) {
  write_file_atomically(path, text, "the model description");
}

}  // namespace

ExportedModel export_model(const std::shared_ptr<Backbone>& backbone,
                           const torch::nn::Sequential& head, const std::string& dir,
                           const ModelDescription& description) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(dir + ": error: cannot create directory: " + ec.message());
  ExportedModel out{(fs::path(dir) / "model.pth").string(),
                    (fs::path(dir) / "model.json").string()};

  // A module tree of the two parts, sharing their modules: its names are the saved keys.
  auto classifier = std::make_shared<Classifier>(backbone, head);
  save_state_dict(out.weights, *classifier);

  json config = nullptr;
  if (!description.config_json.empty()) {
    config = json::parse(description.config_json, nullptr, /*allow_exceptions=*/false);
    if (config.is_discarded()) throw Error("export: the model's config is not valid JSON");
  }
  const std::vector<std::int64_t> chw{description.input.channels, description.input.height,
                                      description.input.width};
  json backbone_part = component(config, "backbone");
  if (backbone && backbone_part.is_object()) backbone_part["blocks"] = backbone->blocks();
  if (!backbone) backbone_part = nullptr;
  json head_part = component(config, "head");
  const ModuleLayout layout = describe_classifier(backbone.get(), *head);
  const int classes = static_cast<int>(description.classes.size());
  json doc = {
      {"format", kModelFormat},
      {"model", description.model_name},
      {"classes", description.classes},
      {"output", output_mode_name(description.mode)},
      {"output_units", output_units(description.mode, classes)},
      {"input", description.not_images.empty() ? "images" : "features"},
      {"preprocessing", preprocessing(description.input)},
      {"input_shape", chw},
      {"precision", precision_name(description.precision)},
      {"backbone", backbone_part},
      {"head", head_part},
      {"parameters", count_parameters(*classifier)},
      {"trainable_parameters", count_trainable(*classifier)},
      {"layout", layout.layout},
      {"tensors", tensor_list(classifier->named_parameters())},
      {"buffers", tensor_list(classifier->named_buffers())},
      {"config", config},
  };
  if (!description.not_images.empty()) doc["not_images"] = description.not_images;
  if (!layout.problem.empty()) doc["layout_problem"] = layout.problem;
  if (layout.layout.is_object()) doc["layout_tensors"] = layout.tensors;
  write_text(out.description, doc.dump(2) + "\n");
  return out;
}

}  // namespace tlr
