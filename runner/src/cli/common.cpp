#include "cli/common.h"

#include <torch/torch.h>

#include <filesystem>
#include <iostream>
#include <regex>
#include <thread>

#include "core/config/document.h"
#include "core/run/input_paths.h"
#include "core/run/probe.h"
#include "core/run/results_layout.h"

namespace tlr::cli {

bool parse(const std::string& command, const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           const std::vector<std::string>& args, po::variables_map& vm, bool* help_shown) {
  *help_shown = false;
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << options;
      *help_shown = true;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "runner " << command << ": error: " << e.what() << "; see runner " << command
              << " --help\n";
    return false;
  }
  return true;
}

void load_plugins(PluginLoader& loader, const std::vector<std::string>& explicit_dirs) {
  // Explicit folders first: the first folder providing a component wins.
  for (const auto& dir : explicit_dirs) loader.load_directory(dir);
  for (const auto& dir : PluginLoader::default_search_path()) {
    std::error_code ec;
    // The default folders may legitimately be absent (e.g. the install folder in a build tree).
    if (std::filesystem::is_directory(dir, ec)) loader.load_directory(dir);
  }
}

void print_plugin_problems(const PluginLoader& loader, bool fatal) {
  for (const auto& problem : loader.problems()) {
    if (fatal || !problem.refused) {
      std::cerr << problem.message << "\n";
    } else {
      std::cerr << problem.line("warning") << " (not loaded)\n";
    }
  }
}

Checked check_file(const std::string& file, const std::vector<std::string>& sets,
                   const std::vector<std::string>& plugin_dirs, Registry& registry, bool quiet) {
  Checked out;
  config::Document document = config::load(file, sets, config::find_schema_file());
  if (!document.usable) {
    std::cerr << config::format_diagnostics(document.diagnostics);
    return out;
  }
  PluginLoader loader(registry);
  // --plugin-path, then the file's plugin_paths, then the default search path.
  std::vector<std::string> dirs = plugin_dirs;
  dirs.insert(dirs.end(), document.plugin_paths.begin(), document.plugin_paths.end());
  load_plugins(loader, dirs);
  config::Resolution resolution = config::resolve(document, &registry);
  if (!resolution.diagnostics.empty()) {
    std::cerr << config::format_diagnostics(resolution.diagnostics);
    // A refused library may be why a component is unknown: say which were refused, and why.
    print_plugin_problems(loader, /*fatal=*/true);
    return out;
  }
  if (!quiet) print_plugin_problems(loader, /*fatal=*/false);
  out.plan = std::move(resolution.plan);
  out.ok = true;
  return out;
}

std::string db_option(const po::variables_map& vm) {
  if (!vm["db"].defaulted() || vm.count("results") == 0) return vm["db"].as<std::string>();
  return (std::filesystem::path(vm["results"].as<std::string>()) / "results.db").string();
}

std::vector<std::string> strings_of(const po::variables_map& vm, const char* key) {
  return vm.count(key) ? vm[key].as<std::vector<std::string>>() : std::vector<std::string>{};
}

std::vector<std::string> overrides_of(const po::variables_map& vm) {
  std::vector<std::string> sets = strings_of(vm, "set");
  if (vm.count("replicates"))
    sets.push_back("replicates=" + std::to_string(vm["replicates"].as<int>()));
  if (vm.count("precision"))
    sets.push_back("*.training.precision=" + vm["precision"].as<std::string>());
  return sets;
}

bool replicates_option_ok(const std::string& command, const po::variables_map& vm) {
  if (vm.count("replicates") == 0) return true;
  const int replicates = vm["replicates"].as<int>();
  if (replicates >= 1 && replicates <= 1000) return true;
  std::cerr << "runner " << command << ": error: --replicates " << replicates
            << ": expected 1 to 1000\n";
  return false;
}

bool precision_option_ok(const std::string& command, const po::variables_map& vm) {
  if (vm.count("precision") == 0) return true;
  const std::string& precision = vm["precision"].as<std::string>();
  if (precision == "fp32" || precision == "bf16" || precision == "auto") return true;
  std::cerr << "runner " << command << ": error: --precision '" << precision
            << "': expected fp32, bf16 or auto\n";
  return false;
}

int set_threads(int requested) {
  int threads = requested > 0 ? requested : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  torch::set_num_threads(threads);
  return threads;
}

// The probe (core/run/probe.h) over `models`; prints its problems. False when there are any.
bool probe_plan(const config::Plan& plan, const Registry& registry, const std::string& results_dir,
                const std::vector<std::size_t>& models, const std::string& device) {
  Context context;
  context.experiment_dir = std::filesystem::path(plan.file).parent_path().string();
  context.cache_dir = ResultsLayout(results_dir).cache_dir();
  ProbeOptions options;
  options.models = models;
  options.device = device;
  const std::vector<config::Diagnostic> problems = probe_models(plan, registry, context, options);
  std::cerr << config::format_diagnostics(problems);
  return problems.empty();
}

bool input_paths_exist(const config::Plan& plan, const Registry& registry,
                       const std::vector<std::size_t>& models) {
  Context context;
  context.experiment_dir = std::filesystem::path(plan.file).parent_path().string();
  const std::vector<config::Diagnostic> problems =
      missing_input_paths(plan, registry, context, models);
  std::cerr << config::format_diagnostics(problems);
  return problems.empty();
}

// --device: one of the schema's forms, or a one-line error.
bool device_option_ok(const std::string& command, const std::string& device) {
  static const std::regex form("^(cpu|auto|cuda(:[0-9]+)?)$");
  if (device.empty()) return true;
  if (!std::regex_match(device, form)) {
    std::cerr << "runner " << command << ": error: --device '" << device
              << "': expected cpu, cuda, cuda:N or auto\n";
    return false;
  }
  if (device.rfind("cuda", 0) == 0 && !torch::hasCUDA()) {
    std::cerr << "runner " << command << ": error: --device " << device
              << ": this libtorch build has no CUDA; use cpu or auto\n";
    return false;
  }
  return true;
}

}  // namespace tlr::cli
