#include "core/run/experiment_run.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/run/model_failure.h"
#include "core/run/plugin_uses.h"
#include "core/run/run_cell.h"
#include "core/store/store.h"
#include "engine/util/cpu_allocator.h"
#include "tlr/error.h"

namespace tlr {

std::atomic<bool>& interrupt_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write_split_lists(const std::string& path, const PreparedData& data) {
  fs::create_directories(fs::path(path).parent_path());
  json lists;
  lists["classes"] = data.split.classes;
  lists["train"] = data.ids(Split::train);
  lists["val"] = data.ids(Split::val);
  lists["test"] = data.ids(Split::test);
  std::ofstream out(path);
  out << lists.dump(1) << "\n";
}

bool selected(const RunOptions& options, const std::string& name) {
  return options.only.empty() ||
         std::find(options.only.begin(), options.only.end(), name) != options.only.end();
}

}  // namespace

ExperimentOutcome run_experiment(const config::Plan& plan, const Registry& registry,
                                 const RunOptions& options, Store& store) {
  ExperimentServices services(registry, store, options, plan);
  PluginUses plugin_uses(registry);

  ExperimentOutcome outcome;
  outcome.experiment_id = store.begin_experiment(plan.experiment, plan.file, plan.text);
  std::size_t total = 0;
  for (const auto& model : plan.models) total += selected(options, model.name) ? 1 : 0;
  std::size_t index = 0;
  for (const auto& model : plan.models) {
    if (!selected(options, model.name)) continue;
    ++index;
    // A publisher whose identical config already published its weights is not trained again,
    // and records no run: the run that trained it stays the one reports show.
    if (!model.publishes.empty()) {
      const std::string published = services.layout.published_weights(model.hash);
      if (fs::exists(published)) {
        services.published[model.publishes] = published;
        ++outcome.reused;
        if (!options.quiet) {
          const auto by = store.run_with_artifact("published_weights", published);
          std::cerr << "[" << index << "/" << total << "] " << model.name << ": reusing weights '"
                    << model.publishes << "' published by "
                    << (by ? "run " + std::to_string(*by) : std::string("an identical run")) << " ("
                    << published << ")\n";
        }
        continue;
      }
    }
    // The previous model's cached buffers rarely fit this one's shapes: hand them back.
    release_cached_cpu_memory();
    const std::uint64_t seed = options.seed_override >= 0
                                   ? static_cast<std::uint64_t>(options.seed_override)
                                   : model.json.value("seed", 42ULL);
    const std::string strategy = plugin_of(model.json["strategy"]);
    RunStart start;
    start.experiment_id = outcome.experiment_id;
    start.model = model.name;
    start.strategy = strategy;
    start.backbone = plugin_of(model.json["backbone"]);
    start.config_json = model.json.dump();
    start.config_hash = model.hash;
    start.seed = static_cast<std::int64_t>(seed);
    start.threads = options.threads;
    start.device = device_of(model.json, options.device).str();
    start.plugins = plugin_uses.of(model.json);
    const std::int64_t run_id = store.begin_run(start);
    if (!options.quiet) {
      std::cerr << "[" << index << "/" << total << "] " << model.name << ": strategy " << strategy
                << ", backbone " << start.backbone << ", run " << run_id << "\n";
    }
    try {
      const PreparedData& data = services.data.prepare(model.json["data"]);
      write_split_lists(services.layout.split_lists(plan.experiment, model.name), data);
      torch::manual_seed(seed);
      auto plugin =
          registry.make_strategy(strategy, params_of(model.json["strategy"]), services.context);
      RunCell cell(services, model, run_id, seed, data);
      in_phase("strategy '" + strategy + "'", "its run", [&] { plugin->run(cell); });
      cell.publish_if_asked();
      store.finish_run(run_id, RunStatus::kCompleted, "");
      ++outcome.completed;
    } catch (const Interrupted&) {
      store.finish_run(run_id, RunStatus::kInterrupted, "interrupted by the user (SIGINT)");
      outcome.interrupted = true;
      std::cerr << model.name << ": interrupted; the run is recorded as interrupted\n";
      break;
    } catch (const std::exception& e) {
      const std::string reason = first_line(e.what());
      store.finish_run(run_id, RunStatus::kFailed, reason);
      ++outcome.failed;
      std::cerr << model.name << ": error: " << reason << "\n";
    }
  }
  store.finish_experiment(outcome.experiment_id, outcome.interrupted ? RunStatus::kInterrupted
                                                 : outcome.failed    ? RunStatus::kFailed
                                                                     : RunStatus::kCompleted);
  return outcome;
}

}  // namespace tlr
