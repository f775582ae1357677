// `runner preview-augment FILE`: a PNG grid of a model's augmented training images, for a person
// to judge whether the augmentation suits the data (the seed's 50° rotations on 28-pixel
// garments, say) before spending hours of training on it.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/config/document.h"
#include "core/config/plan.h"
#include "core/run/data_source.h"
#include "core/run/results_layout.h"
#include "engine/data/image_batches.h"
#include "tlr/names.h"

namespace tlr::cli {

int preview_augment_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "file", po::value<std::string>()->required(), "the experiment file")(
      "model", po::value<std::string>(), "the model (default: the first with an augmenter)")(
      "out", po::value<std::string>(),
      "PNG to write (default <results>/<experiment>/<model>/augment_preview.png)")(
      "results", po::value<std::string>()->default_value("results"),
      "folder of the image cache (shared with `runner run`) and of the default PNG")(
      "rows", po::value<int>()->default_value(6), "images (one per row)")(
      "cols", po::value<int>()->default_value(8), "columns: the original, then augmented copies")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "PATH=VALUE override (repeatable)")("plugin-path",
                                          po::value<std::vector<std::string>>()->composing(),
                                          "also load the plugins of this folder (repeatable)");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse("preview-augment",
             "usage: runner preview-augment FILE [--model NAME] [--out PNG]\n\n"
             "Writes a grid of training images of one model: each row one image, the first column\n"
             "as loaded, the others as the model's augmenter changes it (seeded: the same every\n"
             "time).\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  const std::string file = vm["file"].as<std::string>();
  std::vector<std::string> sets, dirs;
  if (vm.count("set")) sets = vm["set"].as<std::vector<std::string>>();
  if (vm.count("plugin-path")) dirs = vm["plugin-path"].as<std::vector<std::string>>();
  Registry registry;
  Checked checked = check_file(file, sets, dirs, registry, /*quiet=*/true);
  if (!checked.ok) return kExitBadInput;
  const config::ResolvedModel* model = nullptr;
  std::vector<std::string> names;
  for (const auto& m : checked.plan.models) {
    names.push_back(m.name);
    const bool wanted = vm.count("model")
                            ? m.name == vm["model"].as<std::string>()
                            : m.json.contains("augmenter") && m.json["augmenter"].is_object();
    if (wanted && model == nullptr) model = &m;
  }
  if (model == nullptr) {
    if (vm.count("model")) {
      std::cerr << "runner preview-augment: error: no model '" << vm["model"].as<std::string>()
                << "'" << did_you_mean(vm["model"].as<std::string>(), names) << "\n";
    } else {
      std::cerr << "runner preview-augment: error: no model of " << file << " has an augmenter\n";
    }
    return kExitBadInput;
  }
  try {
    Context context;
    context.experiment_dir = std::filesystem::path(file).parent_path().string();
    const ResultsLayout layout(vm["results"].as<std::string>());
    context.cache_dir = layout.cache_dir();
    DataSource data(registry, context);
    const PreparedData& prepared = data.prepare(model->json["data"]);
    const InputSpec input = InputSpec::from_params(
        Params::from_json(model->json["data"].value("input", nlohmann::json::object()).dump()));
    std::unique_ptr<Augmenter> augmenter;
    if (model->json.contains("augmenter") && model->json["augmenter"].is_object()) {
      const auto& spec = model->json["augmenter"];
      augmenter = registry.make_augmenter(
          spec["plugin"].get<std::string>(),
          Params::from_json(spec.value("params", nlohmann::json::object()).dump()), context);
    }
    const std::string out = vm.count("out")
                                ? vm["out"].as<std::string>()
                                : layout.augment_preview(checked.plan.experiment, model->name);
    const std::filesystem::path folder = std::filesystem::path(out).parent_path();
    if (!folder.empty()) std::filesystem::create_directories(folder);
    write_augment_preview(*prepared.dataset, prepared.split.train, input, augmenter.get(),
                          model->json.value("seed", 42ULL), vm["rows"].as<int>(),
                          vm["cols"].as<int>(), out);
    std::cout << out << "\n";
  } catch (const std::exception& e) {
    std::cerr << "runner preview-augment: " << e.what() << "\n";
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace tlr::cli
