// `runner run FILE` and `runner validate FILE`: read, check, resolve, then run or stop.
#include <torch/torch.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/config/document.h"
#include "core/config/plan.h"
#include "core/report/report.h"
#include "core/run/experiment_run.h"
#include "core/run/parallel_cells.h"
#include "core/run/precision_choice.h"
#include "core/run/probe.h"
#include "core/run/results_layout.h"
#include "core/run/run_cell.h"
#include "core/run/stop_signal.h"
#include "core/stats/store_statistics.h"
#include "core/store/store.h"
#include "engine/util/temporary_files.h"
#include "tlr/error.h"
#include "tlr/names.h"

namespace tlr::cli {
namespace {

// --only NAME... plus every earlier model that publishes weights a chosen model loads, and so on
// back (from the plan's weights links). Says which were added, unless quiet.
std::vector<std::size_t> only_with_publishers(const config::Plan& plan,
                                              const std::vector<std::string>& only, bool quiet) {
  std::vector<std::size_t> chosen = config::with_publishers(plan, only);
  for (std::size_t i : chosen) {
    const config::ResolvedModel& model = plan.models[i];
    const bool named = std::any_of(only.begin(), only.end(), [&](const std::string& name) {
      return config::names_cell(model, name);
    });
    if (quiet || named) continue;
    std::cerr << "runner run: --only: also running " << model.name
              << ", which publishes the weights '" << model.publishes
              << "' a chosen model loads (skipped if its identical run completed)\n";
  }
  return chosen;
}

// One warning line when a model of `models` (empty: every model) computes in bf16 on a CPU that
// only emulates it: it runs, but many times slower than fp32 (docs/design.md, "Precision").
void warn_if_emulated_bf16(const config::Plan& plan, const std::vector<std::size_t>& models,
                           const std::string& device_override) {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < plan.models.size(); ++i) {
    if (!models.empty() && std::find(models.begin(), models.end(), i) == models.end()) continue;
    const config::ResolvedModel& model = plan.models[i];
    const torch::Device device = device_of(model.json, device_override);
    if (!emulated_bf16(precision_of(model.json, device), device)) continue;
    if (std::find(names.begin(), names.end(), model.model) == names.end()) {
      names.push_back(model.model);
    }
  }
  if (names.empty()) return;
  std::cerr << "runner: warning: " << names.front()
            << (names.size() > 1 ? " and " + std::to_string(names.size() - 1) + " more models" : "")
            << (names.size() > 1 ? " compute" : " computes")
            << " in bf16, which this CPU does not have (no AVX512_BF16 or AMX): libtorch "
               "emulates it, several times slower than fp32; training.precision: auto picks fp32 "
               "here\n";
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
      "replicates", po::value<int>(),
      "runs of each model (the experiment's `replicates`; a model's own count and a `matrix: "
      "false` stage's single run stay)")(
      "device", po::value<std::string>()->default_value(""),
      "cpu, cuda, cuda:N or auto: replaces every model's device")(
      "precision", po::value<std::string>(),
      "fp32, bf16 or auto: every model's training.precision (auto: bf16 where the CPU has "
      "native bf16)")(
      "db", po::value<std::string>()->default_value("results/results.db", "RESULTS/results.db"),
      "the results database")("results", po::value<std::string>()->default_value("results"),
                              "folder for artifacts, caches and report.html")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(),
      "also load the plugins of this folder (repeatable)")(
      "rerun", po::value<std::vector<std::string>>()->multitoken()->zero_tokens()->composing(),
      "train again even where an identical run completed or can resume: the named models, or "
      "every model when no name follows (write it after FILE)")(
      "jobs,j", po::value<int>()->default_value(1),
      "run up to N cells at once in worker processes; --threads is split between them")(
      "worker-of", po::value<std::int64_t>(), "(internal) run one cell for this invocation id")(
      "completed-from", po::value<std::vector<std::string>>()->composing(),
      "also count cells completed in this results database, or in the *.db files of this "
      "folder, as completed (repeatable; runner submit's tasks pass results.db and the shards)")(
      "checkpoint-interval", po::value<double>()->default_value(30),
      "seconds between the end-of-epoch checkpoints of a training phase (0: every epoch); a "
      "signal checkpoints at once whatever this says, a kill loses at most this long plus the "
      "epoch in progress")(
      "task-shard",
      "--db is this task's own shard, used by one process at a time: a run it holds as running "
      "died with an earlier attempt of the task, and resumes (runner submit's tasks)")(
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
          "<results>/<experiment>/report.html. A model whose identical run already completed in\n"
          "the database is skipped; one that was interrupted resumes from its checkpoint.\n"
          "exit status: 0 ok, 1 a model failed, 2 bad input, 130 stopped by Ctrl-C,\n"
          "75 stopped by SIGTERM/SIGUSR1 with the running models checkpointed (rerun to resume)\n",
          options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  const bool quiet = vm.count("quiet") > 0;
  // From here on a stop signal is a request, not death: one that arrives while the file is checked
  // or probed stops the run before its first model starts.
  StopSignalHandlers handlers;
  if (!replicates_option_ok("run", vm) || !precision_option_ok("run", vm)) return kExitBadInput;
  Registry registry;
  Checked checked = check_file(vm["file"].as<std::string>(), overrides_of(vm),
                               strings_of(vm, "plugin-path"), registry, quiet);
  if (!checked.ok) return kExitBadInput;

  RunOptions run;
  run.only = strings_of(vm, "only");
  run.rerun = strings_of(vm, "rerun");
  run.rerun_all = vm.count("rerun") > 0 && run.rerun.empty();
  run.completed_from = strings_of(vm, "completed-from");
  run.task_shard = vm.count("task-shard") > 0;
  run.checkpoint_interval = vm["checkpoint-interval"].as<double>();
  if (run.checkpoint_interval < 0) {
    std::cerr << "runner run: error: --checkpoint-interval " << run.checkpoint_interval
              << ": expected 0 (every epoch) or more seconds\n";
    return kExitBadInput;
  }
  std::vector<std::string> names;
  for (const auto& m : checked.plan.models) {
    names.push_back(m.name);
    if (m.model != m.name) names.push_back(m.model);  // a model's replicates, all of them
  }
  for (const auto* option : {"only", "rerun"}) {
    for (const auto& name : strings_of(vm, option)) {
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::cerr << "runner run: error: --" << option << " names no model '" << name << "'"
                  << did_you_mean(name, names) << "\n";
        return kExitBadInput;
      }
    }
  }
  const int jobs = vm["jobs"].as<int>();
  if (jobs < 1) {
    std::cerr << "runner run: error: --jobs " << jobs << ": expected 1 or more\n";
    return kExitBadInput;
  }
  const bool worker = vm.count("worker-of") > 0;
  const std::string device = vm["device"].as<std::string>();
  if (!device_option_ok("run", device)) return kExitBadInput;
  std::vector<std::size_t> chosen;
  if (!run.only.empty() && !worker) {
    chosen = only_with_publishers(checked.plan, run.only, quiet);
    run.only.clear();
    for (std::size_t i : chosen) run.only.push_back(checked.plan.models[i].name);
  }
  if (vm.count("dry-run")) {
    std::cout << config::plan_to_text(checked.plan);
    return kExitOk;
  }
  run.results_dir = vm["results"].as<std::string>();
  run.device = device;
  // --threads is the budget of the whole run: each of the --jobs workers gets an equal share.
  const int budget = set_threads(vm["threads"].as<int>());
  run.threads = worker ? budget : set_threads(std::max(1, budget / jobs));
  if (!worker && !probe_plan(checked.plan, registry, run.results_dir, chosen, device)) {
    return kExitBadInput;
  }
  // Not in a Slurm task: submit checked the paths on the login node, and a folder gone from a
  // compute node is that cell's failure, recorded in its shard for the merge to show.
  if (!worker && !run.task_shard && !input_paths_exist(checked.plan, registry, chosen)) {
    return kExitBadInput;
  }
  if (!worker && !quiet) warn_if_emulated_bf16(checked.plan, chosen, device);
  run.db_path = db_option(vm);
  run.quiet = quiet;
  if (vm.count("seed")) run.seed_override = vm["seed"].as<long long>();
  // A --db that is not a results database (or cannot be created) is bad input: one line, exit 2,
  // before anything runs.
  std::optional<Store> store;
  try {
    store.emplace(Store::open(run.db_path));
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }

  if (worker) {
    run.experiment_id = vm["worker-of"].as<std::int64_t>();
    run.line_progress = true;
    const ExperimentOutcome outcome = run_experiment(checked.plan, registry, run, *store);
    if (outcome.interrupted) return exit_status_for_stop();
    return outcome.failed > 0 ? kExitRunFailed : kExitOk;
  }

  // What runners killed on this host left half-written (engine/util/temporary_files.h). Not in
  // a Slurm task: a thousand tasks would each walk the shared folder; the next local run or
  // rerun cleans it.
  if (const std::size_t stale = run.task_shard ? 0 : remove_stale_temporaries(run.results_dir);
      stale > 0 && !quiet) {
    std::cerr << "runner: removed " << stale << " temporary file" << (stale == 1 ? "" : "s")
              << " left in " << run.results_dir << " by runners that were killed\n";
  }

  std::vector<std::int64_t> run_ids;
  std::int64_t invocation_id = 0;
  int failed = 0;
  int stopped_by = 0;
  if (jobs == 1) {
    const ExperimentOutcome outcome = run_experiment(checked.plan, registry, run, *store);
    run_ids = outcome.run_ids();
    invocation_id = outcome.experiment_id;
    failed = outcome.failed;
    if (outcome.interrupted) stopped_by = exit_status_for_stop();
  } else {
    const std::int64_t invocation =
        store->begin_experiment(checked.plan.experiment, checked.plan.file, checked.plan.text);
    invocation_id = invocation;
    if (chosen.empty()) {
      for (std::size_t i = 0; i < checked.plan.models.size(); ++i) chosen.push_back(i);
    }
    const std::string self = self_executable();
    auto worker_argv = [&](std::size_t cell) {
      std::vector<std::string> argv = {self, "run", vm["file"].as<std::string>()};
      for (const auto& set : overrides_of(vm)) argv.insert(argv.end(), {"--set", set});
      for (const auto& dir : strings_of(vm, "plugin-path")) {
        argv.insert(argv.end(), {"--plugin-path", dir});
      }
      argv.insert(argv.end(), {"--only", checked.plan.models[cell].name, "--threads",
                               std::to_string(run.threads), "--db", run.db_path, "--results",
                               run.results_dir, "--worker-of", std::to_string(invocation)});
      if (!device.empty()) argv.insert(argv.end(), {"--device", device});
      for (const auto& db : run.completed_from) argv.insert(argv.end(), {"--completed-from", db});
      argv.insert(argv.end(), {"--checkpoint-interval", std::to_string(run.checkpoint_interval)});
      if (run.seed_override >= 0) {
        argv.insert(argv.end(), {"--seed", std::to_string(run.seed_override)});
      }
      if (run.rerun_all || std::find(run.rerun.begin(), run.rerun.end(),
                                     checked.plan.models[cell].name) != run.rerun.end()) {
        argv.insert(argv.end(), {"--rerun", checked.plan.models[cell].name});
      }
      if (quiet) argv.emplace_back("--quiet");
      return argv;
    };
    if (!quiet) {
      std::cerr << "runner run: " << chosen.size() << " models in up to " << jobs
                << " worker processes, " << run.threads << " threads each\n";
    }
    const ParallelOutcome outcome = run_cells_in_parallel(checked.plan, chosen, jobs, worker_argv);
    store->mark_stale_runs();  // a worker that crashed left its run 'running'
    // The table lists the cells in plan order, not in the order the workers finished.
    // Keyed by (model, replicate): the runs' rows name the model, not the cell.
    std::vector<std::int64_t> linked_ids;
    for (const auto& link : store->linked_runs(invocation)) linked_ids.push_back(link.second);
    std::map<std::pair<std::string, int>, std::int64_t> linked;
    for (const RunSummary& row : store->summaries_of(linked_ids)) {
      linked[{row.model, row.replicate}] = row.run_id;
    }
    for (std::size_t i : chosen) {
      const config::ResolvedModel& cell = checked.plan.models[i];
      auto it = linked.find({cell.model, cell.replicate});
      if (it != linked.end()) run_ids.push_back(it->second);
    }
    failed = outcome.failed;
    if (outcome.stop_signal != 0) {
      stopped_by = outcome.stop_signal == SIGINT ? kExitInterrupted : kExitCheckpointed;
    }
    store->finish_experiment(invocation, stopped_by != 0 ? RunStatus::kInterrupted
                                         : failed > 0    ? RunStatus::kFailed
                                                         : RunStatus::kCompleted);
  }

  // The statistics of the invocation's table, stored for SQL (model_statistics, mcnemar_tests).
  if (!run_ids.empty()) {
    try {
      store->set_compare_to(invocation_id, checked.plan.compare_to);
      store->record_statistics(
          invocation_id,
          stats::statistics_of_runs(*store, store->summaries_of(run_ids), checked.plan.compare_to));
    } catch (const Error& e) {
      std::cerr << "runner run: error: " << e.what() << "\n";
      return kExitRunFailed;
    }
  }
  ReportOptions report;
  report.db_path = run.db_path;
  report.experiment = checked.plan.experiment;
  // A Slurm task's table is for its log; the merge job writes the experiment's report.html.
  report.html_dir = run.task_shard ? "" : run.results_dir;
  report.run_ids = run_ids;
  report.experiment_id = invocation_id;
  if (!run_ids.empty()) std::cout << render_report(report);
  if (stopped_by != 0) return stopped_by;
  return failed > 0 ? kExitRunFailed : kExitOk;
}

int validate_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "file", po::value<std::string>()->required(), "the experiment file")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "PATH=VALUE override (repeatable)")("plugin-path",
                                          po::value<std::vector<std::string>>()->composing(),
                                          "also load the plugins of this folder (repeatable)")(
      "replicates", po::value<int>(), "as given to run: check the file with this count")(
      "device", po::value<std::string>()->default_value(""),
      "cpu, cuda, cuda:N or auto: check the models on this device")(
      "precision", po::value<std::string>(), "as given to run: fp32, bf16 or auto");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse("validate",
             "usage: runner validate FILE [--set PATH=VALUE]...\n\n"
             "Checks an experiment file against the core schema and every plugin's parameter\n"
             "schema, checks the weights links between models, then builds every model and runs\n"
             "its strategy once on two zero images (block names, shapes, channels, the training\n"
             "step). Reports every problem as file:line:column. Loads no data and no weights.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  if (!replicates_option_ok("validate", vm) || !precision_option_ok("validate", vm)) {
    return kExitBadInput;
  }
  Registry registry;
  Checked checked = check_file(vm["file"].as<std::string>(), overrides_of(vm),
                               strings_of(vm, "plugin-path"), registry, /*quiet=*/false);
  if (!checked.ok) return kExitBadInput;
  const std::string device = vm["device"].as<std::string>();
  if (!device_option_ok("validate", device)) return kExitBadInput;
  if (!probe_plan(checked.plan, registry, "results", {}, device)) return kExitBadInput;
  warn_if_emulated_bf16(checked.plan, {}, device);
  std::set<std::string> distinct;
  for (const auto& cell : checked.plan.models) distinct.insert(cell.model);
  const std::size_t models = distinct.size(), cells = checked.plan.models.size();
  std::cout << vm["file"].as<std::string>() << ": ok: " << models
            << (models == 1 ? " model" : " models")
            << (cells > models ? " (" + std::to_string(cells) + " runs with their replicates)"
                               : std::string())
            << (models == 1 ? ", built and probed\n" : ", each built and probed\n");
  return kExitOk;
}

}  // namespace tlr::cli
