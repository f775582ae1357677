#include "core/run/experiment_run.h"

#include <torch/torch.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "core/run/cell_identity.h"
#include "core/run/model_failure.h"
#include "core/run/plugin_uses.h"
#include "core/run/precision_choice.h"
#include "core/run/result_sources.h"
#include "core/run/resume_point.h"
#include "core/run/run_cell.h"
#include "core/run/stop_signal.h"
#include "core/store/store.h"
#include "engine/util/cpu_allocator.h"
#include "engine/util/fault_point.h"
#include "engine/util/sha256.h"
#include "tlr/error.h"

namespace tlr {

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

const char* signal_name(int signal) {
  switch (signal) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

}  // namespace

std::vector<std::int64_t> ExperimentOutcome::run_ids() const {
  std::vector<std::int64_t> ids;
  for (const CellOutcome& cell : cells) {
    if (cell.run_id > 0) ids.push_back(cell.run_id);
  }
  return ids;
}

namespace {

// Published weights a completed run left are reused only when they are the bytes it recorded
// (the sha256 of its published_weights artifact row): a truncated or altered file makes the
// publisher run again, with one warning line, instead of failing every later run or silently
// changing the models that load it. Reads the whole file (the weights of a backbone: well under
// a second). Returns "" when it is intact, or when the run recorded no digest for it.
std::string published_problem(const std::vector<Artifact>& recorded, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return "its published weights are gone (" + path + ")";
  for (const Artifact& a : recorded) {
    if (a.kind != "published_weights" || fs::path(a.path).filename() != fs::path(path).filename()) {
      continue;
    }
    std::string actual;
    try {
      actual = sha256_file(path);
    } catch (const std::exception& e) {
      return "its published weights cannot be read (" + first_line(e.what()) + ")";
    }
    if (actual == a.sha256) return "";
    return "its published weights " + path + " are not the file it recorded (sha256 " +
           actual.substr(0, 12) + ", recorded " + a.sha256.substr(0, 12) +
           "): truncated or altered";
  }
  return "";
}

}  // namespace

ExperimentOutcome run_experiment(const config::Plan& plan, const Registry& registry,
                                 const RunOptions& options, Store& store) {
  ExperimentServices services(registry, store, options, plan);
  PluginUses plugin_uses(registry);
  CellIdentities identities(plan, options, services.context, services.data, plugin_uses, store);
  ResultSources elsewhere(options.completed_from);
  if (options.task_shard) {
    store.interrupt_running_runs(
        "interrupted: an earlier attempt of its task ended without finishing the run");
  }

  ExperimentOutcome outcome;
  outcome.experiment_id = options.experiment_id > 0
                              ? options.experiment_id
                              : store.begin_experiment(plan.experiment, plan.file, plan.text);
  std::vector<std::size_t> chosen;
  for (std::size_t i = 0; i < plan.models.size(); ++i) {
    const bool named =
        std::any_of(options.only.begin(), options.only.end(),
                    [&](const std::string& n) { return config::names_cell(plan.models[i], n); });
    if (options.only.empty() || named) chosen.push_back(i);
  }
  const std::size_t total = chosen.size();
  std::size_t index = 0;
  for (std::size_t i : chosen) {
    if (stop_requested()) {
      // A signal before this cell started (or while the previous one finished): start nothing.
      outcome.interrupted = true;
      break;
    }
    const config::ResolvedModel& model = plan.models[i];
    ++index;
    const std::string counter = options.experiment_id > 0 ? ""
                                                          : "[" + std::to_string(index) + "/" +
                                                                std::to_string(total) + "] ";
    CellOutcome cell;
    cell.model = model.name;
    const std::uint64_t seed = cell_seed(model, options);
    const std::string strategy = plugin_of(model.json["strategy"]);

    // The identity needs the data listed and the weight files hashed; a failure there is the
    // cell's failure, recorded like any other.
    std::string identity;
    std::string identity_error;
    try {
      identity = identities.of(i).hash;
    } catch (const std::exception& e) {
      identity_error = first_line(e.what());
    }
    const std::string short_id = identity.substr(0, 12);
    const bool forced = options.rerun_all || std::any_of(options.rerun.begin(), options.rerun.end(),
                                                         [&](const std::string& n) {
                                                           return config::names_cell(model, n);
                                                         });

    // A loader whose publisher completed earlier (this invocation or before) finds its weights
    // where that publisher's identity puts them.
    if (!model.loads.empty() && services.published.count(model.loads) == 0 &&
        model.publisher < plan.models.size()) {
      try {
        const std::string by = identities.of(model.publisher).hash;
        const std::string path = services.layout.published_weights(by);
        std::optional<std::vector<Artifact>> recorded;
        if (auto run = store.completed_run(by)) {
          recorded = store.artifacts(*run);
        } else if (auto found = elsewhere.completed_run(by)) {
          recorded = elsewhere.artifacts(*found);
        }
        if (recorded) {
          const std::string problem = published_problem(*recorded, path);
          if (problem.empty()) {
            services.published[model.loads] = path;
          } else {
            std::cerr << "warning: " << model.name << ": the model publishing '" << model.loads
                      << "' completed, but " << problem << "\n";
          }
        }
      } catch (const std::exception&) {
        // The publisher's own identity failed; this cell fails when it loads the weights.
      }
    }

    if (!identity.empty() && !forced) {
      if (auto done = store.completed_run(identity)) {
        const std::string published =
            model.publishes.empty() ? "" : services.layout.published_weights(identity);
        const std::string problem =
            published.empty() ? "" : published_problem(store.artifacts(*done), published);
        if (problem.empty()) {
          if (!published.empty()) services.published[model.publishes] = published;
          store.link_run(outcome.experiment_id, *done, "skipped");
          cell.run_id = *done;
          cell.how = "skipped";
          cell.status = "completed";
          outcome.cells.push_back(cell);
          ++outcome.skipped;
          if (!options.quiet) {
            std::cerr << counter << model.name << ": completed as run " << *done << " (" << short_id
                      << "), skipped\n";
          }
          continue;
        }
        std::cerr << "warning: " << counter << model.name << ": completed as run " << *done << " ("
                  << short_id << ") but " << problem << "; running it again\n";
      } else if (auto found = elsewhere.completed_run(identity)) {
        const std::string published =
            model.publishes.empty() ? "" : services.layout.published_weights(identity);
        const std::string problem =
            published.empty() ? "" : published_problem(elsewhere.artifacts(*found), published);
        if (problem.empty()) {
          if (!published.empty()) services.published[model.publishes] = published;
          cell.how = "skipped";
          cell.status = "completed";
          outcome.cells.push_back(cell);
          ++outcome.skipped;
          if (!options.quiet) {
            std::cerr << counter << model.name << ": completed as run " << found->run_id << " of "
                      << found->db << " (" << short_id << "), skipped\n";
          }
          continue;
        }
        std::cerr << "warning: " << counter << model.name << ": completed as run " << found->run_id
                  << " of " << found->db << " (" << short_id << ") but " << problem
                  << "; running it again\n";
      }
    }

    // Another live runner is training this very cell (the store marked runs of dead processes of
    // this host interrupted when it opened): leave it to that one. --rerun trains it here too.
    if (!identity.empty() && !forced) {
      const std::optional<CellState> now = store.cell_state(identity);
      if (now && now->status == RunStatus::kRunning) {
        std::cerr << counter << model.name << ": running as run " << now->run_id << " (pid "
                  << now->pid << " on " << now->host << "), skipped\n";
        store.link_run(outcome.experiment_id, now->run_id, "skipped");
        cell.run_id = now->run_id;
        cell.how = "skipped";
        cell.status = "running";
        outcome.cells.push_back(cell);
        ++outcome.skipped;
        continue;
      }
    }

    // The previous model's cached buffers rarely fit this one's shapes: hand them back.
    release_cached_cpu_memory();
    const std::string checkpoints =
        identity.empty() ? "" : services.layout.checkpoint_dir(identity);
    if (forced && !checkpoints.empty()) fs::remove_all(checkpoints);
    std::int64_t run_id = 0;
    std::optional<std::int64_t> resumable;
    if (!identity.empty() && !forced) resumable = store.resumable_run(identity);
    if (resumable) {
      const ResumePoint point = read_resume_point(checkpoints, /*drop_unreadable=*/true);
      if (!point.problem.empty()) {
        std::cerr << "warning: " << point.problem << "; resuming before that checkpoint\n";
      }
      store.resume_run(*resumable, point.keep_epochs);
      run_id = *resumable;
      cell.how = "resumed";
      if (!options.quiet) {
        std::cerr << counter << model.name << ": resuming run " << run_id << " (" << short_id
                  << ") " << describe_resume(point) << "\n";
      }
      if (point.threads > 0 && options.threads > 0 && point.threads != options.threads) {
        std::cerr << model.name << ": warning: its checkpoint was written with " << point.threads
                  << " threads and it resumes with " << options.threads
                  << ": the numbers can differ in the last bits from an uninterrupted run\n";
      }
    } else {
      if (!checkpoints.empty()) fs::remove_all(checkpoints);  // a failed run's leftovers
      RunStart start;
      start.experiment_id = outcome.experiment_id;
      start.model = model.model;
      start.replicate = model.replicate;
      start.strategy = strategy;
      start.backbone = plugin_of(model.json["backbone"]);
      start.config_json = model.json.dump();
      start.config_hash = model.hash;
      start.identity = identity;
      start.seed = static_cast<std::int64_t>(seed);
      start.threads = options.threads;
      try {
        const torch::Device device = device_of(model.json, options.device);
        start.device = device.str();
        start.precision = precision_name(precision_of(model.json, device));
        start.plugins = plugin_uses.of(model.json);
      } catch (const std::exception& e) {
        if (identity_error.empty()) identity_error = first_line(e.what());
      }
      run_id = store.begin_run(start);
      cell.how = "ran";
      if (!options.quiet) {
        std::cerr << counter << model.name << ": strategy " << strategy << ", backbone "
                  << start.backbone << ", run " << run_id
                  << (short_id.empty() ? "" : " (" + short_id + ")") << "\n";
      }
    }
    store.link_run(outcome.experiment_id, run_id, cell.how);
    cell.run_id = run_id;
    try {
      if (!identity_error.empty()) throw Error(identity_error);
      const PreparedData& data = services.data.prepare(model.json["data"]);
      write_split_lists(services.layout.split_lists(plan.experiment, model.name), data);
      torch::manual_seed(seed);
      auto plugin =
          registry.make_strategy(strategy, params_of(model.json["strategy"]), services.context);
      RunCell run_cell(services, model, identity, run_id, seed, data);
      in_phase("strategy '" + strategy + "'", "its run", [&] { plugin->run(run_cell); });
      run_cell.publish_if_asked();
      fault_point("run_completing");
      store.complete_run(run_id, run_cell.results());
      // The kept model and the store hold the result; the checkpoints were only for getting there.
      if (!checkpoints.empty()) fs::remove_all(checkpoints);
      cell.status = "completed";
      ++outcome.completed;
    } catch (const Interrupted& e) {
      const std::string by = signal_name(stop_signal().load());
      const std::string reason =
          "stopped by " + by +
          (e.checkpointed ? "; checkpointed at a batch boundary: rerun to resume"
                          : "; rerun to resume from its last epoch checkpoint");
      store.finish_run(run_id, RunStatus::kInterrupted, reason);
      outcome.interrupted = true;
      cell.status = "interrupted";
      outcome.cells.push_back(cell);
      std::cerr << model.name << ": " << reason << "\n";
      break;
    } catch (const std::exception& e) {
      const std::string reason = first_line(e.what());
      store.finish_run(run_id, RunStatus::kFailed, reason);
      cell.status = "failed";
      ++outcome.failed;
      std::cerr << model.name << ": error: " << reason << "\n";
    }
    outcome.cells.push_back(cell);
  }
  if (options.experiment_id == 0) {
    store.finish_experiment(outcome.experiment_id, outcome.interrupted ? RunStatus::kInterrupted
                                                   : outcome.failed    ? RunStatus::kFailed
                                                                       : RunStatus::kCompleted);
  }
  return outcome;
}

}  // namespace tlr
