#include "cli/model_choice.h"

#include <filesystem>
#include <iostream>

#include "core/plugins/loader.h"
#include "core/run/results_layout.h"
#include "tlr/error.h"

namespace tlr::cli {

void add_model_choice_options(po::options_description& options) {
  options.add_options()("run", po::value<std::int64_t>(), "the run whose model to use (its id)")(
      "experiment", po::value<std::string>(),
      "with --model: the experiment (default: the latest recorded)")(
      "model", po::value<std::string>(),
      "with --experiment: the latest completed run of this model")(
      "db", po::value<std::string>()->default_value("results/results.db", "RESULTS/results.db"),
      "the results database")("results", po::value<std::string>()->default_value("results"),
                              "the results folder (its cache/ is the plugins' cache folder)")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(),
      "also load the plugins of this folder (repeatable)");
}

std::optional<ChosenModel> choose_model(const std::string& command, const po::variables_map& vm) {
  const std::string prefix = "runner " + command + ": error: ";
  RunChoice choice;
  if (vm.count("run")) {
    if (vm.count("model") || vm.count("experiment")) {
      std::cerr << prefix << "give --run ID or --experiment/--model, not both\n";
      return std::nullopt;
    }
    choice.run_id = vm["run"].as<std::int64_t>();
  } else if (vm.count("model")) {
    choice.model = vm["model"].as<std::string>();
    if (vm.count("experiment")) choice.experiment = vm["experiment"].as<std::string>();
  } else {
    std::cerr << prefix << "which model? give --run ID, or --model M (and --experiment E)\n";
    return std::nullopt;
  }
  const std::string db = db_option(vm);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db, ec)) {
    std::cerr << db << ": error: no results database here (--db)\n";
    return std::nullopt;
  }
  try {
    // evaluate records its evaluation; predict and export only read (a read-only copy will do).
    Store store = command == "evaluate" ? Store::open(db) : Store::open_for_reading(db);
    if (!choice.run_id && choice.experiment.empty()) {
      const auto latest = store.latest_experiment();
      if (!latest) {
        std::cerr << db << ": error: no experiment recorded\n";
        return std::nullopt;
      }
      choice.experiment = *latest;
    }
    TrainedRun run = find_trained_run(store, choice);
    return ChosenModel{std::move(store), std::move(run)};
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return std::nullopt;
  }
}

std::optional<TrainedModel> load_chosen_model(const std::string& command,
                                              const po::variables_map& vm, const TrainedRun& run,
                                              Registry& registry) {
  PluginLoader loader(registry);
  load_plugins(loader, strings_of(vm, "plugin-path"));
  try {
    const ResultsLayout layout(vm["results"].as<std::string>());
    return load_trained_model(registry, run, layout.cache_dir());
  } catch (const std::exception& e) {
    const std::string what = e.what();
    // Most messages name their file first ("<path>: error: ..."); the others get the command.
    std::cerr << (what.find(": error: ") != std::string::npos ? ""
                                                              : "runner " + command + ": error: ")
              << what << "\n";
    print_plugin_problems(loader, /*fatal=*/true);
    return std::nullopt;
  }
}

}  // namespace tlr::cli
