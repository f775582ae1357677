// `runner evaluate (--run ID | --experiment E --model M) --data FOLDER`: a trained model's test
// metrics on another labelled folder (one sub-folder per class), recorded as an evaluation of its
// run (tables evaluations, evaluation_metrics, evaluation_confusion).
#include <torch/torch.h>

#include <cmath>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/model_choice.h"
#include "core/run/precision_choice.h"
#include "core/run/results_layout.h"
#include "core/run/run_cell.h"
#include "core/stats/comparison.h"
#include "core/use/predict.h"
#include "engine/train/evaluation.h"
#include "tlr/error.h"
#include "tlr/names.h"

namespace tlr::cli {

int evaluate_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "data", po::value<std::string>(),
      "a folder of class folders (root/<class>/*.jpg), or of train/ val/ test/ class folders "
      "(every image counts)");
  add_model_choice_options(options);
  options.add_options()("batch", po::value<int>(),
                        "images per forward pass (default: the run's batch size)")(
      "threads", po::value<int>()->default_value(0),
      "libtorch threads and decoding threads; 0 = all cores")(
      "precision", po::value<std::string>(), "fp32 or bf16 (default: what the run tested in)")(
      "format", po::value<std::string>()->default_value("table"), "table | json");
  po::positional_options_description positional;
  po::variables_map vm;
  bool help = false;
  if (!parse(
          "evaluate",
          std::string("usage: runner evaluate (--run ID | --experiment E --model M) --data "
                      "FOLDER\n\n"
                      "Tests a trained model on another labelled folder with the run's own\n"
                      "evaluation preprocessing: accuracy (with its 95% Wilson interval),\n"
                      "precision, recall and F1 (binary for two classes, macro otherwise), per\n"
                      "class, and the confusion matrix. The folder's class names are matched to\n"
                      "the run's by name; it may hold fewer classes, not others. The result is\n"
                      "recorded with the run in results.db (evaluations).\n\n") +
              kModelChoiceHelp,
          options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  if (!vm.count("data")) {
    std::cerr << "runner evaluate: error: --data FOLDER is required\n";
    return kExitBadInput;
  }
  const std::string format = vm["format"].as<std::string>();
  if (format != "table" && format != "json") {
    std::cerr << "runner evaluate: error: --format '" << format << "': expected table or json\n";
    return kExitBadInput;
  }
  if (vm.count("batch") && vm["batch"].as<int>() < 1) {
    std::cerr << "runner evaluate: error: --batch: expected 1 or more\n";
    return kExitBadInput;
  }
  if (vm.count("precision")) {
    const std::string p = vm["precision"].as<std::string>();
    if (p != "fp32" && p != "bf16") {
      std::cerr << "runner evaluate: error: --precision '" << p << "': expected fp32 or bf16\n";
      return kExitBadInput;
    }
  }
  std::optional<ChosenModel> chosen = choose_model("evaluate", vm);
  if (!chosen) return kExitBadInput;
  Registry registry;
  std::optional<TrainedModel> model = load_chosen_model("evaluate", vm, chosen->run, registry);
  if (!model) return kExitBadInput;

  const std::string data = vm["data"].as<std::string>();
  std::unique_ptr<Dataset> dataset;
  try {
    Context context{"", ResultsLayout(vm["results"].as<std::string>()).cache_dir()};
    dataset = registry.make_dataset(
        "image_folder",
        Params::from_json(nlohmann::json{{"root", data}, {"layout", "auto"}}.dump()), context);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }
  // Class names matched by name; a class the run never saw cannot be scored.
  const std::vector<std::string>& classes = model->classes;
  std::vector<int> label_map;
  for (const std::string& name : dataset->classes()) {
    const auto at = std::find(classes.begin(), classes.end(), name);
    if (at == classes.end()) {
      std::string known;
      for (const auto& c : classes) known += (known.empty() ? "" : ", ") + c;
      std::cerr << (std::filesystem::path(data) / name).string() << ": error: class '" << name
                << "' is not one of the model's (" << known << ")" << did_you_mean(name, classes)
                << "\n";
      return kExitBadInput;
    }
    label_map.push_back(static_cast<int>(at - classes.begin()));
  }
  if (dataset->size() == 0) {
    std::cerr << data << ": error: no images\n";
    return kExitBadInput;
  }

  const int threads = set_threads(vm["threads"].as<int>());
  PredictOptions predict;
  predict.batch_size =
      static_cast<std::size_t>(vm.count("batch") ? vm["batch"].as<int>() : chosen->run.batch_size);
  predict.workers = threads;
  predict.precision = vm.count("precision")
                          ? resolve_precision(vm["precision"].as<std::string>(), torch::kCPU, true)
                          : model->precision;
  std::vector<std::int64_t> labels, predicted;
  double loss_sum = 0;
  PredictSummary summary;
  try {
    summary = predict_images(*model, *dataset, label_map, predict, [&](const ImagePrediction& r) {
      labels.push_back(r.label);
      predicted.push_back(r.predicted);
      // Cross-entropy of the true class: for a sigmoid output the binary cross-entropy.
      loss_sum -= std::log(std::max(r.probabilities[static_cast<std::size_t>(r.label)], 1e-12f));
    });
  } catch (const std::exception& e) {
    std::cerr << "runner evaluate: error: " << e.what() << "\n";
    return kExitRunFailed;
  }
  for (const BadImage& bad : summary.failed)
    std::cerr << "warning: skipped " << bad.message << "\n";
  for (const ImageWarning& warning : summary.warnings) std::cerr << warning.message << "\n";
  if (labels.empty()) {
    std::cerr << data << ": error: no image could be read\n";
    return kExitRunFailed;
  }
  const Evaluation e = score_predictions(labels, predicted, static_cast<int>(classes.size()),
                                         loss_sum / static_cast<double>(labels.size()));
  std::vector<std::pair<std::string, double>> metrics{{"accuracy", e.accuracy},
                                                      {"precision", e.precision},
                                                      {"recall", e.recall},
                                                      {"f1", e.f1},
                                                      {"loss", e.loss},
                                                      {"samples", double(e.samples)},
                                                      {"macro_precision", e.macro_precision},
                                                      {"macro_recall", e.macro_recall},
                                                      {"macro_f1", e.macro_f1}};
  for (std::size_t c = 0; c < classes.size(); ++c) {
    metrics.emplace_back("precision/" + classes[c], e.per_class[c].precision);
    metrics.emplace_back("recall/" + classes[c], e.per_class[c].recall);
    metrics.emplace_back("f1/" + classes[c], e.per_class[c].f1);
    metrics.emplace_back("support/" + classes[c], double(e.per_class[c].support));
  }
  EvaluationRecord record;
  record.run_id = chosen->run.run_id;
  record.data = data;
  record.dataset = "image_folder";
  record.dataset_fingerprint = dataset->fingerprint();
  record.samples = e.samples;
  record.skipped_images = static_cast<std::int64_t>(summary.failed.size());
  record.precision = precision_name(predict.precision);
  record.device = "cpu";
  record.threads = threads;
  record.metrics = metrics;
  record.confusion = {classes, e.confusion};
  std::int64_t evaluation_id = 0;
  try {
    evaluation_id = chosen->store.record_evaluation(record);
  } catch (const Error& error) {
    std::cerr << error.what() << "\n";
    return kExitRunFailed;
  }

  const std::int64_t correct =
      static_cast<std::int64_t>(std::llround(e.accuracy * static_cast<double>(e.samples)));
  const stats::Interval ci = stats::wilson_interval(correct, e.samples);
  if (format == "json") {
    nlohmann::json doc = {{"evaluation", evaluation_id},
                          {"run", chosen->run.run_id},
                          {"experiment", chosen->run.experiment},
                          {"model", chosen->run.model},
                          {"data", data},
                          {"samples", e.samples},
                          {"skipped_images", summary.failed.size()},
                          {"accuracy_low", ci.low},
                          {"accuracy_high", ci.high},
                          {"average", e.average},
                          {"classes", classes},
                          {"confusion", e.confusion},
                          {"metrics", nlohmann::json::object()}};
    for (const auto& [name, value] : metrics) doc["metrics"][name] = value;
    std::cout << doc.dump(2) << "\n";
    return summary.failed.empty() ? kExitOk : kExitRunFailed;
  }
  std::cout << "evaluation " << evaluation_id << " of run " << chosen->run.run_id << " ("
            << chosen->run.experiment << " / " << chosen->run.model << ") on " << data << ": "
            << e.samples << " images";
  if (!summary.failed.empty()) std::cout << " (" << summary.failed.size() << " skipped)";
  std::cout << "\n"
            << std::fixed << std::setprecision(4) << "accuracy  " << e.accuracy << "  95% CI ["
            << ci.low << ", " << ci.high << "]\n"
            << "precision " << e.precision << "  recall " << e.recall << "  f1 " << e.f1 << "  ("
            << e.average << ")\n\n";
  std::size_t width = 5;
  for (const auto& c : classes) width = std::max(width, c.size());
  const int w = static_cast<int>(width) + 2;
  std::cout << std::left << std::setw(w) << "class" << std::right << std::setw(10) << "precision"
            << std::setw(8) << "recall" << std::setw(8) << "f1" << std::setw(9) << "support"
            << "   confusion (rows: true, columns: predicted)\n";
  for (std::size_t c = 0; c < classes.size(); ++c) {
    std::cout << std::left << std::setw(w) << classes[c] << std::right << std::setw(10)
              << e.per_class[c].precision << std::setw(8) << e.per_class[c].recall << std::setw(8)
              << e.per_class[c].f1 << std::setw(9) << e.per_class[c].support << "  ";
    for (std::int64_t count : e.confusion[c]) std::cout << std::setw(6) << count;
    std::cout << "\n";
  }
  return summary.failed.empty() ? kExitOk : kExitRunFailed;
}

}  // namespace tlr::cli
