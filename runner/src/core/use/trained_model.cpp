#include "core/use/trained_model.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/run/precision_choice.h"
#include "core/run/run_cell.h"
#include "engine/train/model_export.h"
#include "engine/train/settings.h"
#include "engine/weights/state_dict.h"
#include "tlr/error.h"
#include "tlr/names.h"

namespace tlr {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string run_name(std::int64_t id) { return "run " + std::to_string(id); }

}  // namespace

TrainedRun find_trained_run(const Store& store, const RunChoice& choice) {
  const std::string& db = store.path();
  std::int64_t id = 0;
  if (choice.run_id) {
    id = *choice.run_id;
  } else {
    const std::vector<RunSummary> runs = store.summaries(choice.experiment);
    if (runs.empty()) {
      throw Error(db + ": error: no experiment '" + choice.experiment + "' recorded");
    }
    std::vector<std::string> models;
    for (const auto& r : runs) {
      if (std::find(models.begin(), models.end(), r.model) == models.end()) {
        models.push_back(r.model);
      }
    }
    if (std::find(models.begin(), models.end(), choice.model) == models.end()) {
      std::string known;
      for (const auto& m : models) known += (known.empty() ? "" : ", ") + m;
      const std::string guess = did_you_mean(choice.model, models);
      throw Error(db + ": error: experiment '" + choice.experiment + "' has no model '" +
                  choice.model + "'" + (guess.empty() ? "; models: " + known : guess));
    }
    const auto latest = store.latest_completed_run(choice.experiment, choice.model);
    if (!latest) {
      throw Error(db + ": error: model '" + choice.model + "' of experiment '" + choice.experiment +
                  "' has no completed run");
    }
    id = *latest;
  }
  const RunSummary summary = store.summary(id);  // throws for an unknown id
  if (summary.status != RunStatus::kCompleted) {
    throw Error(db + ": error: " + run_name(id) + " (" + summary.model + ") is " +
                to_string(summary.status) + ", not completed: it has no tested model");
  }
  TrainedRun run;
  run.run_id = id;
  run.experiment = summary.experiment;
  run.model = summary.model;
  const auto [config_text, file] = store.run_config_and_file(id);
  run.experiment_file = file;
  const json config = json::parse(config_text, nullptr, /*allow_exceptions=*/false);
  if (config.is_object() && config.contains("training") && config["training"].is_object()) {
    run.batch_size = static_cast<int>(config["training"].value("batch_size", 32));
  }
  for (const Artifact& a : store.artifacts(id)) {
    if (a.kind == "model") {
      run.weights = a.path;
      run.weights_sha256 = a.sha256;
    }
    if (a.kind == "model_description") run.description = a.path;
  }
  if (run.weights.empty() || run.description.empty() ||
      fs::path(run.weights).extension() != ".pth") {
    throw Error(db + ": error: " + run_name(id) + " (" + summary.model +
                ") has no saved model in this format (runs recorded before tlr kept model.pth "
                "and model.json); run the model again with --rerun " +
                summary.model);
  }
  return run;
}

json read_model_description(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": error: cannot read the model description (moved or deleted?)");
  json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("format", "") != kModelFormat) {
    throw Error(path + ": error: not a model description of format " + kModelFormat);
  }
  return doc;
}

TrainedModel load_trained_model(const Registry& registry, const TrainedRun& run,
                                const std::string& cache_dir) {
  TrainedModel out;
  out.description = read_model_description(run.description);
  const json& doc = out.description;
  const std::string what = run_name(run.run_id) + " (" + run.model + ")";
  if (doc.value("input", "") != "images") {
    throw Error(run.description + ": error: the model of " + what +
                " cannot be applied to images: " + doc.value("not_images", std::string("?")));
  }
  std::error_code ec;
  if (!fs::exists(run.weights, ec)) {
    throw Error(run.weights + ": error: the weights of " + what +
                " are missing (moved or deleted?)");
  }
  const std::string sha = sha256_of_file(run.weights);
  if (!run.weights_sha256.empty() && sha != run.weights_sha256) {
    throw Error(run.weights + ": error: changed since " + what + " recorded it (sha256 " +
                sha.substr(0, 12) + "…, recorded " + run.weights_sha256.substr(0, 12) + "…)");
  }
  out.classes = doc.at("classes").get<std::vector<std::string>>();
  out.mode = doc.at("output") == "sigmoid" ? OutputMode::sigmoid : OutputMode::softmax;
  out.precision = resolve_precision(doc.value("precision", std::string("fp32")), torch::kCPU,
                                    cpu_has_native_bf16());
  const json& config = doc.at("config");
  out.input = InputSpec::from_params(
      Params::from_json(config.at("data").value("input", json::object()).dump()));

  Context context{fs::path(run.experiment_file).parent_path().string(), cache_dir};
  const json& b = doc.at("backbone");
  const json& h = doc.at("head");
  std::shared_ptr<Backbone> backbone;
  if (b.is_object()) {
    const std::string plugin = b.value("plugin", "");
    try {
      backbone = registry.make_backbone(plugin, params_of(b), context);
    } catch (const std::exception& e) {
      throw Error("backbone '" + plugin + "' of " + what + ": " + e.what());
    }
    const auto blocks = b.value("blocks", std::vector<std::string>{});
    if (!blocks.empty() && backbone->blocks() != blocks) backbone->cut_after(blocks.back());
    if (!blocks.empty() && backbone->blocks() != blocks) {
      throw Error("backbone '" + plugin + "' of " + what +
                  ": its blocks are not those the run recorded (the plugin changed?)");
    }
  }
  const std::vector<std::int64_t> chw{out.input.channels, out.input.height, out.input.width};
  const std::vector<std::int64_t> in_shape = backbone ? backbone->output_shape(chw) : chw;
  const std::string head_plugin = h.value("plugin", "");
  torch::nn::Sequential head;
  try {
    head = registry.make_head(head_plugin, params_of(h), context)
               ->build(in_shape, doc.at("output_units").get<std::int64_t>());
  } catch (const std::exception& e) {
    throw Error("head '" + head_plugin + "' of " + what + ": " + e.what());
  }
  out.classifier = std::make_shared<Classifier>(backbone, head);
  load_state_dict(*out.classifier, run.weights);
  out.classifier->eval();
  return out;
}

}  // namespace tlr
