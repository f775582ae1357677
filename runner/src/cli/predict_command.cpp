// `runner predict (--run ID | --experiment E --model M) INPUT...`: a trained model's classes for
// new images (core/use/predict.h), as a table, CSV or JSON on stdout.
#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/model_choice.h"
#include "core/run/precision_choice.h"
#include "core/run/run_cell.h"
#include "core/use/image_inputs.h"
#include "core/use/predict.h"

namespace tlr::cli {

namespace {

// Class indices by falling probability (ties: lower index first), the first k.
std::vector<std::size_t> top_classes(const std::vector<float>& p, std::size_t k) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
  order.resize(std::min(k, order.size()));
  return order;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string probability_text(float p) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(4) << p;
  return out.str();
}

}  // namespace

int predict_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "input", po::value<std::vector<std::string>>()->composing(),
      "image files, folders (searched recursively) or file lists (one path per line)");
  add_model_choice_options(options);
  options.add_options()("top", po::value<int>()->default_value(1),
                        "the K most probable classes of each image")(
      "format", po::value<std::string>()->default_value("table"), "table | csv | json")(
      "batch", po::value<int>(), "images per forward pass (default: the run's batch size)")(
      "threads", po::value<int>()->default_value(0),
      "libtorch threads and decoding threads; 0 = all cores")(
      "precision", po::value<std::string>(), "fp32 or bf16 (default: what the run tested in)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu, cuda, cuda:N or auto")(
      "verbose,v", "print the throughput (images/s) on stderr");
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  bool help = false;
  if (!parse(
          "predict",
          std::string("usage: runner predict (--run ID | --experiment E --model M) INPUT... "
                      "[--top K] [--format table|csv|json]\n\n"
                      "Classifies images with a trained model: each image gets the run's own\n"
                      "evaluation preprocessing (input size, fit, channels, scale, mean/std; no\n"
                      "augmentation) and the K most probable classes with their probabilities\n"
                      "(sigmoid for a two-class model, softmax otherwise), one line or row per\n"
                      "image in input order. An unreadable image is a line on stderr; the others\n"
                      "are still predicted. exit status: 0 ok, 1 an image could not be read, 2\n"
                      "bad input.\n\n") +
              kModelChoiceHelp,
          options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  const std::string format = vm["format"].as<std::string>();
  if (format != "table" && format != "csv" && format != "json") {
    std::cerr << "runner predict: error: --format '" << format
              << "': expected table, csv or json\n";
    return kExitBadInput;
  }
  const int top = vm["top"].as<int>();
  if (top < 1) {
    std::cerr << "runner predict: error: --top " << top << ": expected 1 or more\n";
    return kExitBadInput;
  }
  if (vm.count("batch") && vm["batch"].as<int>() < 1) {
    std::cerr << "runner predict: error: --batch " << vm["batch"].as<int>()
              << ": expected 1 or more\n";
    return kExitBadInput;
  }
  const std::string device_name = vm["device"].as<std::string>();
  if (!device_option_ok("predict", device_name)) return kExitBadInput;
  if (vm.count("precision")) {
    const std::string p = vm["precision"].as<std::string>();
    if (p != "fp32" && p != "bf16") {
      std::cerr << "runner predict: error: --precision '" << p << "': expected fp32 or bf16\n";
      return kExitBadInput;
    }
  }
  const std::vector<std::string> inputs = strings_of(vm, "input");
  if (inputs.empty()) {
    std::cerr << "runner predict: error: no images given; see runner predict --help\n";
    return kExitBadInput;
  }

  std::optional<ChosenModel> chosen = choose_model("predict", vm);
  if (!chosen) return kExitBadInput;
  Registry registry;
  std::optional<TrainedModel> model = load_chosen_model("predict", vm, chosen->run, registry);
  if (!model) return kExitBadInput;

  const ImageInputs found = collect_image_inputs(inputs);
  for (const auto& problem : found.problems) std::cerr << problem << "\n";
  bool failed = !found.problems.empty();
  if (found.paths.empty()) {
    std::cerr << "runner predict: error: no images to predict\n";
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
  try {
    predict.device = device_of(nlohmann::json::object(), device_name);
  } catch (const std::exception& e) {
    std::cerr << "runner predict: error: " << e.what() << "\n";
    return kExitBadInput;
  }

  const ImagePaths dataset(found.paths, model->classes);
  std::vector<ImagePrediction> results;
  results.reserve(found.paths.size());
  PredictSummary summary;
  try {
    summary = predict_images(*model, dataset, {}, predict,
                             [&](const ImagePrediction& r) { results.push_back(r); });
  } catch (const std::exception& e) {
    std::cerr << "runner predict: error: " << e.what() << "\n";
    return kExitRunFailed;
  }
  for (const BadImage& bad : summary.failed) std::cerr << bad.message << "\n";
  for (const ImageWarning& warning : summary.warnings) std::cerr << warning.message << "\n";
  failed = failed || !summary.failed.empty();

  const auto k = static_cast<std::size_t>(top);
  const std::vector<std::string>& classes = model->classes;
  if (format == "json") {
    nlohmann::json doc = {{"run", chosen->run.run_id},
                          {"experiment", chosen->run.experiment},
                          {"model", chosen->run.model},
                          {"classes", classes},
                          {"precision", precision_name(predict.precision)},
                          {"predictions", nlohmann::json::array()},
                          {"failed", nlohmann::json::array()}};
    for (const auto& r : results) {
      nlohmann::json best = nlohmann::json::array();
      for (std::size_t c : top_classes(r.probabilities, k)) {
        best.push_back({{"class", classes[c]}, {"probability", r.probabilities[c]}});
      }
      doc["predictions"].push_back({{"path", dataset.id(r.index)},
                                    {"class", classes[static_cast<std::size_t>(r.predicted)]},
                                    {"top", best},
                                    {"probabilities", r.probabilities}});
    }
    for (const auto& bad : summary.failed) {
      doc["failed"].push_back({{"path", bad.path}, {"error", bad.message}});
    }
    std::cout << doc.dump(2) << "\n";
  } else if (format == "csv") {
    std::cout << "path";
    for (std::size_t i = 1; i <= std::min(k, classes.size()); ++i) {
      std::cout << ",class_" << i << ",probability_" << i;
    }
    std::cout << "\n";
    for (const auto& r : results) {
      std::cout << csv_field(dataset.id(r.index));
      for (std::size_t c : top_classes(r.probabilities, k)) {
        std::cout << "," << csv_field(classes[c]) << "," << probability_text(r.probabilities[c]);
      }
      std::cout << "\n";
    }
  } else {
    std::size_t width = 4;
    for (const auto& r : results) width = std::max(width, dataset.id(r.index).size());
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "image"
              << (k == 1 ? "class (probability)" : "classes (probability), most probable first")
              << "\n";
    for (const auto& r : results) {
      std::cout << std::left << std::setw(static_cast<int>(width) + 2) << dataset.id(r.index);
      bool first = true;
      for (std::size_t c : top_classes(r.probabilities, k)) {
        std::cout << (first ? "" : "  ") << classes[c] << " ("
                  << probability_text(r.probabilities[c]) << ")";
        first = false;
      }
      std::cout << "\n";
    }
  }
  if (vm.count("verbose")) {
    std::cerr << "runner predict: " << summary.predicted << " images in " << std::fixed
              << std::setprecision(2) << summary.seconds << " s: " << std::setprecision(1)
              << (summary.seconds > 0 ? summary.predicted / summary.seconds : 0.0)
              << " img/s (decoding included; " << threads << " threads, batch "
              << predict.batch_size << ", " << precision_name(predict.precision) << ")\n";
  }
  return failed ? kExitRunFailed : kExitOk;
}

}  // namespace tlr::cli
