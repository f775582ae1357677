// `runner run FILE` and `runner validate FILE`: read, check, resolve, then run or stop.
#include <torch/torch.h>

#include <algorithm>
#include <csignal>
#include <initializer_list>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/config/document.h"
#include "core/config/plan.h"
#include "core/report/report.h"
#include "core/run/experiment_run.h"
#include "tlr/names.h"

namespace tlr::cli {
namespace {

void on_sigint(int) {
  // A second Ctrl-C ends the process at once.
  if (interrupt_requested().exchange(true)) std::_Exit(130);
}

std::vector<std::string> strings_of(const po::variables_map& vm, const char* key) {
  return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
}

// The string at a path of object keys, or "" when a step is missing or not of that type.
std::string string_at(const nlohmann::json& json, std::initializer_list<const char*> path) {
  const nlohmann::json* node = &json;
  for (const char* key : path) {
    if (!node->is_object()) return "";
    const auto it = node->find(key);
    if (it == node->end()) return "";
    node = &*it;
  }
  return node->is_string() ? node->get<std::string>() : "";
}

// The name a model's backbone loads its weights by (`weights: {published: NAME}`), or "".
std::string published_weights_used(const nlohmann::json& model) {
  return string_at(model, {"backbone", "weights", "published"});
}

// The name a model publishes its weights under (`strategy: {params: {publish: NAME}}`), or "".
std::string weights_published(const nlohmann::json& model) {
  return string_at(model, {"strategy", "params", "publish"});
}

// --only NAME... plus every earlier model that publishes weights a chosen model loads, and so on
// back (a pretraining stage costs nothing when an identical run already published its weights).
// Says which were added, unless quiet.
std::vector<std::string> with_publishers(const config::Plan& plan, std::vector<std::string> only,
                                         bool quiet) {
  auto chosen = [&only](const std::string& name) {
    return std::find(only.begin(), only.end(), name) != only.end();
  };
  // Backwards through the plan: a publisher runs before the models that load its weights.
  for (auto model = plan.models.rbegin(); model != plan.models.rend(); ++model) {
    if (!chosen(model->name)) continue;
    const std::string needed = published_weights_used(model->json);
    if (needed.empty()) continue;
    for (auto earlier = std::next(model); earlier != plan.models.rend(); ++earlier) {
      if (weights_published(earlier->json) != needed) continue;
      if (!chosen(earlier->name)) {
        only.push_back(earlier->name);
        if (!quiet) {
          std::cerr << "runner run: --only: also running " << earlier->name
                    << ", which publishes the weights '" << needed << "' " << model->name
                    << " loads (reused if an identical run published them already)\n";
        }
      }
      break;
    }
  }
  return only;
}

}  // namespace

int run_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "file", po::value<std::string>()->required(), "the experiment file")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "PATH=VALUE: override a value of the file (repeatable), e.g. defaults.training.epochs=3, "
      "models.scratch.training.epochs=5, '*.training.epochs=1' (every model)")(
      "only", po::value<std::vector<std::string>>()->multitoken()->composing(),
      "run only these models (by name)")("threads", po::value<int>()->default_value(0),
                                         "libtorch threads (and data workers); 0 = all cores")(
      "seed", po::value<long long>(), "replace every model's seed")(
      "db", po::value<std::string>()->default_value("results/results.db"), "the results database")(
      "results", po::value<std::string>()->default_value("results"),
      "folder for artifacts, caches and report.html")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(),
      "also load the plugins of this folder (repeatable)")(
      "dry-run", "print the resolved plan (every model expanded, with its hash) and stop")(
      "quiet,q", "print only errors and the final table");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse(
          "run",
          "usage: runner run FILE [options]\n\n"
          "Runs every model of an experiment file, records each run, epoch, metric and artifact\n"
          "in the results database, then prints the comparison table and writes\n"
          "<results>/<experiment>/report.html.\n",
          options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  const bool quiet = vm.count("quiet") > 0;
  Registry registry;
  Checked checked = check_file(vm["file"].as<std::string>(), strings_of(vm, "set"),
                               strings_of(vm, "plugin-path"), registry, quiet);
  if (!checked.ok) return kExitBadInput;

  RunOptions run;
  run.only = strings_of(vm, "only");
  std::vector<std::string> names;
  for (const auto& m : checked.plan.models) names.push_back(m.name);
  for (const auto& name : run.only) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::cerr << "runner run: error: --only names no model '" << name << "'"
                << did_you_mean(name, names) << "\n";
      return kExitBadInput;
    }
  }
  run.only = with_publishers(checked.plan, run.only, quiet);
  if (vm.count("dry-run")) {
    std::cout << config::plan_to_text(checked.plan);
    return kExitOk;
  }
  run.threads = set_threads(vm["threads"].as<int>());
  run.db_path = vm["db"].as<std::string>();
  run.results_dir = vm["results"].as<std::string>();
  run.quiet = quiet;
  if (vm.count("seed")) run.seed_override = vm["seed"].as<long long>();

  std::signal(SIGINT, on_sigint);
  ExperimentOutcome outcome = run_experiment(checked.plan, registry, run);
  std::signal(SIGINT, SIG_DFL);

  ReportOptions report;
  report.db_path = run.db_path;
  report.experiment = checked.plan.experiment;
  report.html_dir = run.results_dir;
  std::cout << render_report(report);
  if (outcome.interrupted) return 130;
  return outcome.failed > 0 ? kExitRunFailed : kExitOk;
}

int validate_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "file", po::value<std::string>()->required(), "the experiment file")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "PATH=VALUE override (repeatable)")("plugin-path",
                                          po::value<std::vector<std::string>>()->composing(),
                                          "also load the plugins of this folder (repeatable)");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse("validate",
             "usage: runner validate FILE [--set PATH=VALUE]...\n\n"
             "Checks an experiment file against the core schema and every plugin's parameter\n"
             "schema, reporting every problem as file:line:column. Loads no data and no weights.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  Registry registry;
  Checked checked = check_file(vm["file"].as<std::string>(), strings_of(vm, "set"),
                               strings_of(vm, "plugin-path"), registry, /*quiet=*/false);
  if (!checked.ok) return kExitBadInput;
  std::cout << vm["file"].as<std::string>() << ": ok: " << checked.plan.models.size()
            << " models\n";
  return kExitOk;
}

}  // namespace tlr::cli
