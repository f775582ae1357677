// `runner status FILE`: where each cell of an experiment file stands in the results database,
// found by its identity (core/run/cell_identity.h), so an edited file shows which cells it would
// run again. Reads the database and the checkpoint folders; changes nothing.
#include <torch/torch.h>

#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/run/cell_identity.h"
#include "core/run/data_source.h"
#include "core/run/plugin_uses.h"
#include "core/run/result_sources.h"
#include "core/run/results_layout.h"
#include "core/run/resume_point.h"
#include "core/slurm/slurm_jobs.h"
#include "core/store/store.h"
#include "tlr/error.h"

namespace tlr::cli {

namespace {

std::string percent(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100 * value << "%";
  return out.str();
}

struct Line {
  std::string cell, state, run, detail;
  std::string identity;  // "" when it could not be computed
  std::string job;       // the Slurm task "<job>_<task>" and its state, when squeue knows it
};

}  // namespace

int status_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "file", po::value<std::string>()->required(), "the experiment file")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "PATH=VALUE override (repeatable), as given to run")(
      "seed", po::value<long long>(), "as given to run")("replicates", po::value<int>(),
                                                         "as given to run")(
      "device", po::value<std::string>()->default_value(""), "as given to run")(
      "precision", po::value<std::string>(), "as given to run")(
      "format", po::value<std::string>()->default_value("table"),
      "table | json (one object per model: model, state, run, identity, job, detail)")(
      "db", po::value<std::string>()->default_value("results/results.db", "RESULTS/results.db"),
      "the results database")("results", po::value<std::string>()->default_value("results"),
                              "the results folder (checkpoints)")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(),
      "also load the plugins of this folder (repeatable)");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse("status",
             "usage: runner status FILE [options]\n\n"
             "Prints one line per model of the file (matrix values expanded): completed (its run\n"
             "and test accuracy), running (pid, epoch), interrupted (where it resumes), failed\n"
             "(the reason) or pending, for the file as it is now. Give the same --set, --seed and\n"
             "--device and --precision as to run. After runner submit, also the Slurm job of\n"
             "each model (squeue) and the results its task left in a shard not merged yet.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  if (!replicates_option_ok("status", vm) || !precision_option_ok("status", vm)) {
    return kExitBadInput;
  }
  if (vm["format"].as<std::string>() != "table" && vm["format"].as<std::string>() != "json") {
    std::cerr << "runner status: error: --format '" << vm["format"].as<std::string>()
              << "': expected table or json\n";
    return kExitBadInput;
  }
  Registry registry;
  Checked checked = check_file(vm["file"].as<std::string>(), overrides_of(vm),
                               strings_of(vm, "plugin-path"), registry, /*quiet=*/true);
  if (!checked.ok) return kExitBadInput;
  RunOptions run;
  run.device = vm["device"].as<std::string>();
  if (vm.count("seed")) run.seed_override = vm["seed"].as<long long>();
  run.results_dir = vm["results"].as<std::string>();
  std::optional<Store> store;
  try {
    store.emplace(Store::open_for_reading(db_option(vm)));
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }
  const ResultsLayout layout(run.results_dir);
  Context context;
  context.experiment_dir = std::filesystem::path(checked.plan.file).parent_path().string();
  context.cache_dir = layout.cache_dir();
  DataSource data(registry, context);
  PluginUses plugins(registry);
  CellIdentities identities(checked.plan, run, context, data, plugins, *store);
  // Results Slurm tasks recorded that are not merged yet, and the jobs of the last submission.
  ResultSources shards({layout.shards_dir(checked.plan.experiment)});
  const slurm::Submission submission =
      slurm::read_submission(layout.slurm_dir(checked.plan.experiment));
  const std::map<std::string, slurm::JobState> jobs = slurm::job_states(submission);
  std::map<std::string, std::string> submitted_as;  // cell -> "<job>_<task>"
  for (const slurm::SubmittedArray& array : submission.arrays) {
    for (std::size_t k = 0; k < array.cells.size(); ++k) {
      submitted_as[array.cells[k]] = array.job + "_" + std::to_string(k);
    }
  }

  std::vector<Line> lines;
  std::map<std::string, int> counts;
  std::vector<std::pair<std::size_t, std::int64_t>> completed_lines;  // (line, run id)
  for (std::size_t i = 0; i < checked.plan.models.size(); ++i) {
    Line line;
    line.cell = checked.plan.models[i].name;
    std::string identity;
    try {
      identity = identities.of(i).hash;
    } catch (const std::exception& e) {
      line.state = "unknown";
      line.detail = e.what();
    }
    line.identity = identity;
    if (!identity.empty()) {
      const std::optional<std::int64_t> done = store->completed_run(identity);
      std::optional<CellState> newest;
      if (!done) newest = store->cell_state(identity);
      std::optional<ResultSources::Found> in_shard;
      if (!done && !submission.arrays.empty()) {
        in_shard = shards.completed_run(identity);
        if (!in_shard) {
          auto shard_state = shards.cell_state(identity);
          if (shard_state && (!newest || newest->status != RunStatus::kRunning)) {
            newest = shard_state->second;
          }
        }
      }
      if (in_shard) {
        line.state = "completed";
        line.run = "-";
        const RunSummary summary = shards.summary(*in_shard);
        line.detail = (summary.test_accuracy ? "test acc " + percent(*summary.test_accuracy) + ", "
                                             : std::string()) +
                      "in shard " + in_shard->db + ", not merged yet";
      } else if (done) {
        line.state = "completed";
        line.run = std::to_string(*done);
        completed_lines.emplace_back(lines.size(), *done);  // its detail: after the loop
      } else if (!newest) {
        line.state = "pending";
        line.detail = "(" + identity.substr(0, 12) + ")";
      } else {
        line.run = std::to_string(newest->run_id);
        const std::string at = newest->last_epoch > 0
                                   ? (newest->last_phase.empty() || newest->last_phase == "train"
                                          ? ""
                                          : newest->last_phase + " ") +
                                         "epoch " + std::to_string(newest->last_epoch)
                                   : "before its first epoch";
        switch (newest->status) {
          case RunStatus::kRunning:
            line.state = "running";
            line.detail = "pid " + std::to_string(newest->pid) + " on " + newest->host + ", " + at;
            break;
          case RunStatus::kInterrupted: {
            line.state = "interrupted";
            const ResumePoint point =
                read_resume_point(layout.checkpoint_dir(identity), /*drop_unreadable=*/false);
            line.detail = "resumes " + describe_resume(point);
            break;
          }
          case RunStatus::kFailed:
            line.state = "failed";
            line.detail = newest->error;
            break;
          case RunStatus::kCompleted:
            line.state = "completed";
            break;
        }
      }
    }
    // The cell's Slurm task, while squeue knows it.
    auto job = jobs.find(line.cell);
    if (job != jobs.end()) line.job = job->second.job + " " + job->second.state;
    if (job != jobs.end() && line.state != "completed") {
      line.detail += (line.detail.empty() ? "" : "; ") + std::string("job ") + job->second.job +
                     " " + job->second.state +
                     (job->second.reason.empty() ? "" : " (" + job->second.reason + ")");
    } else if (job == jobs.end() && submitted_as.count(line.cell) && line.state == "pending") {
      line.detail += "; submitted as job " + submitted_as[line.cell] + ", no longer queued";
    }
    ++counts[line.state];
    lines.push_back(line);
  }
  // The completed runs' summaries in one pass (a thousand cells: one prepared statement).
  {
    std::vector<std::int64_t> ids;
    for (const auto& [line, run] : completed_lines) ids.push_back(run);
    const std::vector<RunSummary> summaries = store->summaries_of(ids);
    for (std::size_t k = 0; k < completed_lines.size(); ++k) {
      Line& line = lines[completed_lines[k].first];
      const RunSummary& summary = summaries[k];
      line.detail = (summary.test_accuracy ? "test acc " + percent(*summary.test_accuracy) + ", "
                                           : std::string()) +
                    std::to_string(summary.epochs_run) + " epochs (" + line.identity.substr(0, 12) +
                    ")" + line.detail;
    }
  }
  if (vm["format"].as<std::string>() == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const Line& line : lines) {
      out.push_back(
          {{"model", line.cell},
           {"state", line.state},
           {"run", line.run.empty() || line.run == "-" ? nlohmann::json()
                                                       : nlohmann::json(std::stoll(line.run))},
           {"identity", line.identity},
           {"job", line.job},
           {"detail", line.detail}});
    }
    std::cout << out.dump(1) << "\n";
    return kExitOk;
  }
  std::size_t width = 5;  // "model"
  for (const Line& line : lines) width = std::max(width, line.cell.size());
  std::cout << std::left << std::setw(static_cast<int>(width) + 2) << "model" << std::setw(13)
            << "state" << std::right << std::setw(5) << "run"
            << "  detail\n";
  for (const Line& line : lines) {
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << line.cell << std::setw(13)
              << line.state << std::right << std::setw(5) << (line.run.empty() ? "-" : line.run)
              << "  " << line.detail << "\n";
  }
  const std::size_t models = checked.plan.models.size();
  std::cout << models << (models == 1 ? " model:" : " models:");
  const char* order[] = {"completed", "running", "interrupted", "failed", "pending", "unknown"};
  bool first = true;
  for (const char* state : order) {
    if (counts[state] == 0) continue;
    std::cout << (first ? " " : ", ") << counts[state] << " " << state;
    first = false;
  }
  std::cout << "\n";
  return kExitOk;
}

}  // namespace tlr::cli
