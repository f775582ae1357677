// Saves a trained classifier for later use: the weights in libtorch's archive format plus a JSON
// description. This is not TorchScript (libtorch 1.13 cannot trace C++ modules): loading the
// weights needs the same backbone and head plugins, rebuilt from the recorded config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/train/output_mode.h"
#include "tlr/strategy.h"

namespace tlr {

struct ModelDescription {
  std::string model_name;
  std::string config_json;           // the model's resolved config (a JSON object) or ""
  std::vector<std::string> classes;  // label order
  OutputMode mode = OutputMode::softmax;
  std::vector<std::int64_t> input_shape;  // C×H×W the model expects
};

struct ExportedModel {
  std::string weights;      // <dir>/model.pt: torch::serialize::OutputArchive of the Classifier
  std::string description;  // <dir>/model.json
};

// Writes <dir>/model.pt and <dir>/model.json (creating dir). model.json holds the description,
// the parameter counts and every tensor's name and shape. Throws tlr::Error when a file cannot be
// written.
ExportedModel export_model(Classifier& model, const std::string& dir,
                           const ModelDescription& description);

}  // namespace tlr
