// Pieces every sub-command shares: option parsing with one-line errors, plugin discovery.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "core/config/plan.h"
#include "core/plugins/loader.h"
#include "tlr/registry.h"

namespace tlr::cli {

namespace po = boost::program_options;

// Parses `args` against `options` (and positional names); on bad options prints
// "runner <command>: error: ..." and returns false. Prints help and returns false with
// *help_shown set when --help is given.
bool parse(const std::string& command, const std::string& usage,
           const po::options_description& options,
           const po::positional_options_description& positional,
           const std::vector<std::string>& args, po::variables_map& vm, bool* help_shown);

// Loads the plugins of `explicit_dirs` (in order, each winning over the later ones), then of the
// default search path (PluginLoader::default_search_path()). Prints nothing.
void load_plugins(PluginLoader& loader, const std::vector<std::string>& explicit_dirs);

// One line per loader problem. `fatal`: a refused library reads "<lib>: error: ..." (the command
// fails); otherwise "<lib>: warning: ... (not loaded)" and the command goes on.
void print_plugin_problems(const PluginLoader& loader, bool fatal);

// The database of a command that takes --db and --results: --db as given, else
// RESULTS/results.db (so that `--results DIR` alone keeps the database with its artifacts).
std::string db_option(const po::variables_map& vm);

// The strings of a repeatable option (--set, --only, ...); empty when it was not given.
std::vector<std::string> strings_of(const po::variables_map& vm, const char* key);

// The document overrides of a command: --set values, then --replicates N as `replicates=N` and
// --precision P as `*.training.precision=P` (every model).
std::vector<std::string> overrides_of(const po::variables_map& vm);
// False, after printing "runner <command>: error: --replicates N: expected 1 to 1000", when
// --replicates is out of the schema's range (said of the option the user typed, not of the
// override it becomes).
bool replicates_option_ok(const std::string& command, const po::variables_map& vm);
// Likewise for --precision: fp32, bf16 or auto.
bool precision_option_ok(const std::string& command, const po::variables_map& vm);

struct Checked {
  config::Plan plan;
  bool ok = false;
};

// Steps shared by run, validate and preview-augment: load the file (with --set overrides), load
// the plugins it needs, resolve every model. Prints every problem (file:line:column) and returns
// ok=false on bad input; plugin warnings are printed unless quiet.
Checked check_file(const std::string& file, const std::vector<std::string>& sets,
                   const std::vector<std::string>& plugin_dirs, Registry& registry, bool quiet);

// Whether every data folder and weight file plan.models[models] (empty: all) reads exists
// (core/run/input_paths.h); prints a located line for each that does not.
bool input_paths_exist(const config::Plan& plan, const Registry& registry,
                       const std::vector<std::size_t>& models);

// The validation probe (core/run/probe.h) over plan.models[models] (empty: all): builds each model
// and runs its strategy on zero images. Prints its problems; false when there are any.
bool probe_plan(const config::Plan& plan, const Registry& registry, const std::string& results_dir,
                const std::vector<std::size_t>& models, const std::string& device);

// --device: one of the schema's forms (cpu, auto, cuda, cuda:N), and cuda only with a CUDA
// libtorch; else prints "runner <command>: error: --device ..." and returns false.
bool device_option_ok(const std::string& command, const std::string& device);

// Sets libtorch's intra-op thread count (Debian's build starts with 1); 0 means all cores.
// Returns the count set.
int set_threads(int requested);

}  // namespace tlr::cli
