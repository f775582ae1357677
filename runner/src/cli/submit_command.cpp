// `runner submit FILE`: the cells of an experiment file as Slurm job arrays, each task one cell
// into its own shard, and a merge job after them (core/slurm/job_arrays.h, batch_scripts.h).
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/run/cell_identity.h"
#include "core/run/data_source.h"
#include "core/run/parallel_cells.h"
#include "core/run/plugin_uses.h"
#include "core/run/result_sources.h"
#include "core/run/results_layout.h"
#include "core/slurm/batch_scripts.h"
#include "core/slurm/job_arrays.h"
#include "core/slurm/slurm_jobs.h"
#include "core/store/store.h"
#include "tlr/error.h"
#include "tlr/names.h"

namespace tlr::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string now_utc() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

std::string absolute(const std::string& path) {
  return fs::weakly_canonical(fs::absolute(path)).string();
}

void write_file(const std::string& path, const std::string& text, bool executable) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error(path + ": error: cannot write file");
  }
  fs::rename(tmp, path);
  if (executable) {
    fs::permissions(path, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
  }
}

// The sbatch command line of an array, with the job ids it depends on (or, for --dry-run,
// "$JOB<k>" placeholders).
std::vector<std::string> sbatch_line(const std::string& script, const std::string& dependency) {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  if (!dependency.empty()) {
    argv.push_back("--dependency=" + dependency);
    // A publisher that failed never satisfies afterok: cancel its dependents rather than leave
    // them pending forever, so that the merge job (afterany) still runs.
    if (dependency.rfind("afterok:", 0) == 0) argv.emplace_back("--kill-on-invalid-dep=yes");
  }
  argv.push_back(script);
  return argv;
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& arg : argv) {
    const bool plain = std::regex_match(arg, std::regex("^[A-Za-z0-9_./=:@%,+${}-]+$"));
    line += (line.empty() ? "" : " ") + (plain ? arg : slurm::shell_quoted(arg));
  }
  return line;
}

}  // namespace

int submit_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "file", po::value<std::string>()->required(), "the experiment file")(
      "partition", po::value<std::string>()->default_value(""), "sbatch --partition")(
      "time", po::value<std::string>()->default_value(""),
      "sbatch --time of each task (HH:MM:SS); its checkpoint signal comes --grace before")(
      "cpus-per-task", po::value<int>()->default_value(1),
      "sbatch --cpus-per-task; each task runs with this many threads")(
      "mem", po::value<std::string>()->default_value(""), "sbatch --mem of each task")(
      "gres", po::value<std::string>()->default_value(""), "sbatch --gres (e.g. gpu:1)")(
      "max-parallel", po::value<int>()->default_value(0),
      "tasks of one array running at once (--array=0-N%K); 0: no limit")(
      "sbatch-arg", po::value<std::vector<std::string>>()->composing(),
      "another sbatch option for every job, as written (repeatable): --sbatch-arg=--account=lab")(
      "grace", po::value<int>()->default_value(120),
      "seconds before the time limit at which Slurm signals a task to checkpoint and requeue")(
      "dry-run", "write the scripts and print them and the sbatch lines; submit nothing")(
      "only", po::value<std::vector<std::string>>()->multitoken()->composing(),
      "submit only these models (by name), and the models publishing weights they load")(
      "set", po::value<std::vector<std::string>>()->composing(), "PATH=VALUE, as given to run")(
      "seed", po::value<long long>(), "as given to run")("replicates", po::value<int>(),
                                                         "as given to run")(
      "device", po::value<std::string>()->default_value(""), "as given to run")(
      "precision", po::value<std::string>(), "as given to run")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(), "as given to run")(
      "db", po::value<std::string>()->default_value("results/results.db", "RESULTS/results.db"),
      "the results database the merge job writes")(
      "results", po::value<std::string>()->default_value("results"),
      "the results folder, shared by the nodes (artifacts, caches, checkpoints, shards)");
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse("submit",
             "usage: runner submit FILE [--partition P] [--time HH:MM:SS] [--cpus-per-task C]\n"
             "                          [--gres G] [--max-parallel K] [--sbatch-arg ARG]...\n"
             "                          [--dry-run]\n\n"
             "Runs an experiment on a Slurm cluster. Writes one batch script per job array under\n"
             "<results>/<experiment>/slurm/ (each task runs one model into its own SQLite shard,\n"
             "a model that loads published weights waits for the task publishing them) and a\n"
             "merge job that brings the shards into results.db once every task has ended, then\n"
             "submits them with sbatch. Models completed in results.db or a shard are not\n"
             "submitted again, so rerunning submit after a failure submits only what is left.\n"
             "Tasks checkpoint and requeue themselves at their time limit or on preemption.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  if (!replicates_option_ok("submit", vm) || !precision_option_ok("submit", vm)) {
    return kExitBadInput;
  }
  for (const char* option : {"cpus-per-task", "grace"}) {
    if (vm[option].as<int>() < 1) {
      std::cerr << "runner submit: error: --" << option << " " << vm[option].as<int>()
                << ": expected 1 or more\n";
      return kExitBadInput;
    }
  }
  // The same forms the schema takes for the file's slurm: section.
  const std::pair<const char*, const char*> forms[] = {
      {"time", "^(([0-9]+-)?[0-9]+(:[0-9]{2}){0,2})?$"}, {"mem", "^([0-9]+[KMGT]?)?$"}};
  for (const auto& [option, form] : forms) {
    if (!std::regex_match(vm[option].as<std::string>(), std::regex(form))) {
      std::cerr << "runner submit: error: --" << option << " '" << vm[option].as<std::string>()
                << "': expected "
                << (std::string(option) == "time" ? "MM, HH:MM:SS or D-HH:MM:SS"
                                                  : "a size: 8G, 500M")
                << "\n";
      return kExitBadInput;
    }
  }
  if (vm["max-parallel"].as<int>() < 0) {
    std::cerr << "runner submit: error: --max-parallel " << vm["max-parallel"].as<int>()
              << ": expected 0 (no limit) or more\n";
    return kExitBadInput;
  }
  const bool dry_run = vm.count("dry-run") > 0;
  const std::string device = vm["device"].as<std::string>();
  if (!device_option_ok("submit", device)) return kExitBadInput;
  Registry registry;
  Checked checked = check_file(vm["file"].as<std::string>(), overrides_of(vm),
                               strings_of(vm, "plugin-path"), registry, /*quiet=*/false);
  if (!checked.ok) return kExitBadInput;
  const config::Plan& plan = checked.plan;
  std::vector<std::string> known;
  for (const auto& m : plan.models) {
    known.push_back(m.name);
    if (m.model != m.name) known.push_back(m.model);
  }
  for (const auto& name : strings_of(vm, "only")) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::cerr << "runner submit: error: --only names no model '" << name << "'"
                << did_you_mean(name, known) << "\n";
      return kExitBadInput;
    }
  }
  const std::string results = absolute(vm["results"].as<std::string>());
  // Everything is checked here, on the login node, before a job waits in the queue.
  if (!probe_plan(plan, registry, results, {}, device)) return kExitBadInput;
  if (!input_paths_exist(plan, registry, {})) return kExitBadInput;

  RunOptions run;
  run.device = device;
  if (vm.count("seed")) run.seed_override = vm["seed"].as<long long>();
  run.results_dir = results;
  const std::string db = absolute(db_option(vm));
  std::optional<Store> store;
  try {
    store.emplace(Store::open(db));
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }
  const ResultsLayout layout(results);
  slurm::ScriptContext context;
  context.experiment = plan.experiment;
  context.runner = self_executable();
  context.file = absolute(plan.file);
  context.results_dir = results;
  context.db = db;
  context.slurm_dir = absolute(layout.slurm_dir(plan.experiment));
  context.shards_dir = absolute(layout.shards_dir(plan.experiment));
  context.max_parallel = vm["max-parallel"].defaulted()
                             ? (plan.slurm.is_object() ? plan.slurm.value("max_parallel", 0) : 0)
                             : vm["max-parallel"].as<int>();
  context.written_at = now_utc();
  for (const auto& set : overrides_of(vm))
    context.run_args.insert(context.run_args.end(), {"--set", set});
  for (const auto& dir : strings_of(vm, "plugin-path")) {
    context.run_args.insert(context.run_args.end(), {"--plugin-path", absolute(dir)});
  }
  if (run.seed_override >= 0) {
    context.run_args.insert(context.run_args.end(), {"--seed", std::to_string(run.seed_override)});
  }
  if (!device.empty()) context.run_args.insert(context.run_args.end(), {"--device", device});

  // Which cells need a job: not completed in results.db or a shard, not queued or running in
  // the jobs of the previous submission.
  Context plugin_context;
  plugin_context.experiment_dir = fs::path(plan.file).parent_path().string();
  plugin_context.cache_dir = layout.cache_dir();
  DataSource data(registry, plugin_context);
  PluginUses plugins(registry);
  CellIdentities identities(plan, run, plugin_context, data, plugins, *store);
  ResultSources shards({context.shards_dir});
  const slurm::Submission previous = slurm::read_submission(context.slurm_dir);
  const std::map<std::string, slurm::JobState> queued = slurm::job_states(previous);
  std::vector<std::size_t> chosen;
  const std::vector<std::string> only = strings_of(vm, "only");
  if (only.empty()) {
    for (std::size_t i = 0; i < plan.models.size(); ++i) chosen.push_back(i);
  } else {
    chosen = config::with_publishers(plan, only);
  }
  std::vector<std::size_t> pending;
  std::vector<std::string> names;
  for (const auto& model : plan.models) names.push_back(model.name);
  int completed = 0, in_queue = 0;
  try {
    for (std::size_t i : chosen) {
      const std::string& identity = identities.of(i).hash;
      if (store->completed_run(identity) || shards.completed_run(identity)) {
        ++completed;
        continue;
      }
      auto job = queued.find(plan.models[i].name);
      if (job != queued.end() && job->second.active()) {
        std::cerr << "runner submit: " << plan.models[i].name << ": already " << job->second.state
                  << " as job " << job->second.job << ", not submitted again\n";
        ++in_queue;
        continue;
      }
      pending.push_back(i);
    }
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }
  if (pending.empty()) {
    std::cout << "runner submit: nothing to submit: " << completed << " of " << chosen.size()
              << " models completed"
              << (in_queue ? ", " + std::to_string(in_queue) + " queued" : "") << "; runner merge "
              << slurm::shell_quoted(context.shards_dir) << " brings finished shards in\n";
    return kExitOk;
  }

  // Resources: the experiment's `slurm:`, a model's own over it, the options given over both.
  const slurm::Resources file = slurm::with_section(slurm::Resources{}, plan.slurm);
  std::vector<slurm::Resources> resources_of;
  for (const auto& model : plan.models) {
    slurm::Resources r = slurm::with_section(file, model.slurm);
    auto given = [&](const char* option) { return vm.count(option) && !vm[option].defaulted(); };
    if (given("partition")) r.partition = vm["partition"].as<std::string>();
    if (given("time")) r.time = vm["time"].as<std::string>();
    if (given("cpus-per-task")) r.cpus_per_task = vm["cpus-per-task"].as<int>();
    if (given("mem")) r.mem = vm["mem"].as<std::string>();
    if (given("gres")) r.gres = vm["gres"].as<std::string>();
    if (given("grace")) r.grace = vm["grace"].as<int>();
    const std::vector<std::string> extra = strings_of(vm, "sbatch-arg");
    r.sbatch_args.insert(r.sbatch_args.end(), extra.begin(), extra.end());
    resources_of.push_back(r);
  }
  const slurm::Resources& resources = resources_of.front();
  const std::vector<slurm::JobArray> arrays = slurm::job_arrays(plan, pending, resources_of);

  fs::create_directories(fs::path(context.slurm_dir) / "logs");
  std::vector<std::string> scripts;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    scripts.push_back(context.slurm_dir + "/array-" + std::to_string(k + 1) + ".sh");
    write_file(scripts.back(), slurm::task_script(context, arrays, k, names), true);
  }
  const std::string merge = context.slurm_dir + "/merge.sh";
  write_file(merge, slurm::merge_script(context, resources), true);

  slurm::Submission submission;
  submission.experiment = plan.experiment;
  submission.submitted_at = context.written_at;
  std::vector<std::string> job_ids;
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    std::string dependency;
    if (arrays[k].waits_for) {
      const std::string of = dry_run
                                 ? "${JOB" + std::to_string(arrays[k].waits_for->array + 1) + "}"
                                 : job_ids[arrays[k].waits_for->array];
      dependency = "afterok:" + of + "_" + std::to_string(arrays[k].waits_for->task);
    }
    const std::vector<std::string> argv = sbatch_line(scripts[k], dependency);
    if (dry_run) {
      std::cout << "# " << scripts[k] << "\n"
                << slurm::task_script(context, arrays, k, names) << "\n"
                << "JOB" << k + 1 << "=$(" << shell_line(argv) << ")\n\n";
      job_ids.push_back("${JOB" + std::to_string(k + 1) + "}");
      continue;
    }
    try {
      job_ids.push_back(slurm::run_sbatch(argv));
    } catch (const Error& e) {
      std::cerr << e.what() << "\n";
      if (k > 0) {
        std::cerr << "runner submit: " << k << " arrays were submitted before this one failed ("
                  << job_ids.front() << "...); scancel them or let them run\n";
      }
      return k == 0 ? kExitBadInput : kExitRunFailed;
    }
    slurm::SubmittedArray record;
    record.job = job_ids.back();
    record.script = scripts[k];
    for (std::size_t cell : arrays[k].cells) record.cells.push_back(names[cell]);
    submission.arrays.push_back(record);
    std::cout << "runner submit: job " << job_ids.back() << ": " << arrays[k].cells.size()
              << (arrays[k].cells.size() == 1 ? " model" : " models")
              << (dependency.empty() ? "" : ", after " + dependency.substr(8)) << " (" << scripts[k]
              << ")\n";
  }
  std::string after = "afterany";
  for (const auto& id : job_ids) after += ":" + id;
  const std::vector<std::string> merge_argv = sbatch_line(merge, after);
  if (dry_run) {
    std::cout << "# " << merge << "\n"
              << slurm::merge_script(context, resources) << "\n"
              << shell_line(merge_argv) << "\n";
    std::cerr << "runner submit: dry run: " << pending.size() << " models in " << arrays.size()
              << (arrays.size() == 1 ? " job array" : " job arrays") << " (" << completed
              << " completed already); nothing submitted\n";
    return kExitOk;
  }
  try {
    submission.merge_job = slurm::run_sbatch(merge_argv);
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    std::cerr << "runner submit: the tasks are submitted; merge by hand when they end: runner "
                 "merge "
              << slurm::shell_quoted(context.shards_dir) << "\n";
    slurm::write_submission(context.slurm_dir, submission);
    return kExitRunFailed;
  }
  slurm::write_submission(context.slurm_dir, submission);
  std::cout << "runner submit: job " << submission.merge_job << ": merge into " << db
            << " when they end; " << pending.size() << " of " << chosen.size()
            << " models submitted (" << completed << " completed already); runner status "
            << vm["file"].as<std::string>() << " follows them\n";
  return kExitOk;
}

}  // namespace tlr::cli
