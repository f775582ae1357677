#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "engine/util/cpu_allocator.h"

namespace {

const char* kUsage = R"(usage: runner <command> [options]
       runner FILE.yaml [options]          same as: runner run FILE.yaml

Transfer-learning experiments: every model of a YAML file trained, evaluated and recorded in
SQLite (results/results.db), then compared in one table.

commands:
  run FILE              run every model of an experiment file
  validate FILE         check an experiment file and its plugins' parameters; run nothing
  status FILE           per model: completed, running, interrupted (resumable), failed, pending
  plugins [NAME]        list the components of every plugin found, or describe one
  report                print the comparison table of recorded runs
  submit FILE           run every model of a file on a Slurm cluster (job arrays, then a merge)
  merge [SHARD...]      bring the results of Slurm tasks (shards) into results.db
  predict INPUT...      classify images with a trained model (--run ID or --model M)
  evaluate --data DIR   test a trained model on another labelled folder; recorded with its run
  export --out FILE     write a trained model as a PyTorch state dict and its JSON description
  preview-augment FILE  write a PNG grid of augmented training images of one model

`runner <command> --help` describes a command's options.
exit status: 0 ok, 1 a run failed, 2 bad input; run also 130 after Ctrl-C, and 75 after
SIGTERM or SIGUSR1 with the running models checkpointed (run the same command again to resume)
)";

}  // namespace

int main(int argc, char** argv) {
  tlr::use_caching_cpu_allocator();  // large buffers reused, not faulted in again every step
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? tlr::cli::kExitBadInput : tlr::cli::kExitOk;
  }
  if (args[0] == "--version") {
    std::cout << "runner " << TLR_VERSION << "\n";
    return tlr::cli::kExitOk;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    if (command == "run") return tlr::cli::run_command(rest);
    if (command == "validate") return tlr::cli::validate_command(rest);
    if (command == "status") return tlr::cli::status_command(rest);
    if (command == "plugins") return tlr::cli::plugins_command(rest);
    if (command == "report") return tlr::cli::report_command(rest);
    if (command == "submit") return tlr::cli::submit_command(rest);
    if (command == "merge") return tlr::cli::merge_command(rest);
    if (command == "predict") return tlr::cli::predict_command(rest);
    if (command == "evaluate") return tlr::cli::evaluate_command(rest);
    if (command == "export") return tlr::cli::export_command(rest);
    if (command == "preview-augment") return tlr::cli::preview_augment_command(rest);
    // `runner FILE.yaml`: a path is a run.
    if (command.find('.') != std::string::npos || command.find('/') != std::string::npos) {
      return tlr::cli::run_command(args);
    }
  } catch (const std::exception& e) {
    std::cerr << "runner: error: " << e.what() << "\n";
    return tlr::cli::kExitRunFailed;
  }
  std::cerr << "runner: error: unknown command '" << command << "'; see runner --help\n";
  return tlr::cli::kExitBadInput;
}
