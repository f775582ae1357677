// Saves a trained classifier for later use (`runner predict`, `evaluate`, `export`): its weights as
// a PyTorch state dict and a JSON description of everything needed to apply it to new images.
//
//   model.pth   torch.save zip archive of a plain dict (engine/weights/state_dict.h): every
//               parameter and buffer of Classifier(backbone, head), keys backbone.* and head.*;
//               Python's torch.load reads it.
//   model.json  format "tlr-model/1": the classes in label order, the output (sigmoid: one logit,
//               the probability of classes[1]; softmax), the preprocessing of an evaluated image
//               (data.input: size, channels, fit, scale, mean, std), the precision it was tested
//               in, the backbone's and the head's plugin, parameters and shapes (what the runner
//               rebuilds it from), its torch.nn layout (engine/train/module_layout.h: what Python
//               rebuilds it from; null with the reason when there is none), every tensor's name and
//               shape, and the model's resolved config.
//
// "input": "images" when the saved classifier maps images to logits. A strategy whose test batches
// are features of part of the backbone, or whose model is not the cell's backbone plus a head,
// leaves "input": "features" with the reason in "not_images": such a model is recorded, but the
// runner cannot apply it to images.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/input_spec.h"
#include "engine/train/output_mode.h"
#include "tlr/precision.h"
#include "tlr/strategy.h"

namespace tlr {

struct ModelDescription {
  std::string model_name;
  std::string config_json;           // the model's resolved config (a JSON object) or ""
  std::vector<std::string> classes;  // label order
  OutputMode mode = OutputMode::softmax;
  InputSpec input;  // data.input of the model
  Precision precision = Precision::fp32;
  std::string not_images;  // "" when the classifier maps images to logits; else why it does not
};

struct ExportedModel {
  std::string weights;      // <dir>/model.pth
  std::string description;  // <dir>/model.json
};

constexpr const char* kModelFormat = "tlr-model/1";

// Writes <dir>/model.pth and <dir>/model.json (creating dir), each to a temporary file renamed
// into place. `backbone` (may be null: a head on features) and `head` are the classifier's parts,
// on any device; they are not modified. Throws tlr::Error naming the file when one cannot be
// written.
ExportedModel export_model(const std::shared_ptr<Backbone>& backbone,
                           const torch::nn::Sequential& head, const std::string& dir,
                           const ModelDescription& description);

}  // namespace tlr
