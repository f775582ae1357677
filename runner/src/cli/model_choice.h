// What predict, evaluate and export share: the options that choose a trained model (--run ID, or
// --experiment E --model M) and where it lives (--db, --results, --plugin-path), and loading it
// with one located line per problem.
#pragma once

#include <optional>
#include <string>

#include "cli/common.h"
#include "core/store/store.h"
#include "core/use/trained_model.h"
#include "tlr/registry.h"

namespace tlr::cli {

// Adds --run, --experiment, --model, --db, --results and --plugin-path.
void add_model_choice_options(po::options_description& options);

// The text of --help for those options' rule.
constexpr const char* kModelChoiceHelp =
    "The model is a completed run's: --run ID (the run_id of `runner report --runs` or\n"
    "results.db), or --experiment E --model M for the latest completed run of model M (of\n"
    "any replicate) in experiment E (default: the latest experiment recorded).\n";

struct ChosenModel {
  Store store;
  TrainedRun run;
};

// Opens --db (which must exist) and finds the chosen run. Prints "runner <command>: error: ..."
// and returns nullopt on bad input.
std::optional<ChosenModel> choose_model(const std::string& command, const po::variables_map& vm);

// Loads the plugins (--plugin-path, then the default search path) into `registry`, then the
// chosen run's model. Prints one line and returns nullopt on failure.
std::optional<TrainedModel> load_chosen_model(const std::string& command,
                                              const po::variables_map& vm, const TrainedRun& run,
                                              Registry& registry);

}  // namespace tlr::cli
