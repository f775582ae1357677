// `runner merge [SHARD...] [--into DB]`: brings the results Slurm tasks recorded in their own
// shards (runner submit) into results.db (core/store/merge.h: idempotent, one transaction).
#include <filesystem>
#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/run/result_sources.h"
#include "core/store/merge.h"
#include "core/store/store.h"
#include "tlr/error.h"

namespace tlr::cli {

namespace {

namespace fs = std::filesystem;

// Every <results>/<experiment>/shards folder.
std::vector<std::string> all_shard_folders(const std::string& results) {
  std::vector<std::string> folders;
  std::error_code ec;
  if (!fs::is_directory(results, ec)) return folders;
  for (const auto& entry : fs::directory_iterator(results, ec)) {
    const fs::path shards = entry.path() / "shards";
    if (fs::is_directory(shards, ec)) folders.push_back(shards.string());
  }
  std::sort(folders.begin(), folders.end());
  return folders;
}

}  // namespace

int merge_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "shard", po::value<std::vector<std::string>>()->composing(),
      "a shard (results database) or a folder of them (its *.db files)")(
      "into", po::value<std::string>()->default_value("results/results.db"),
      "the results database to merge into")(
      "results", po::value<std::string>()->default_value("results"),
      "the results folder: without SHARD, every <results>/<experiment>/shards folder is merged");
  po::positional_options_description positional;
  positional.add("shard", -1);
  po::variables_map vm;
  bool help = false;
  if (!parse("merge",
             "usage: runner merge [SHARD...] [--into results/results.db]\n\n"
             "Copies the runs recorded in result shards (the SQLite files runner submit's Slurm\n"
             "tasks write) into the results database, with their epochs, metrics, confusion\n"
             "matrices, predictions and artifacts, in one transaction. Idempotent: a run merged\n"
             "before is left alone (or updated when its shard moved on), and a cell that already\n"
             "completed in the database is not copied again. Prints what it added.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  std::vector<std::string> named = strings_of(vm, "shard");
  for (const std::string& path : named) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      std::cerr << path << ": error: no such shard or folder\n";
      return kExitBadInput;
    }
  }
  if (named.empty()) named = all_shard_folders(vm["results"].as<std::string>());
  ResultSources sources(named);
  const std::vector<std::string>& shards = sources.files();
  const std::string into = vm["into"].as<std::string>();
  std::optional<Store> store;
  try {
    store.emplace(Store::open(into));
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return kExitBadInput;
  }
  try {
    const MergeOutcome outcome = merge_shards(*store, shards);
    std::cout << "runner merge: " << into << ": " << describe(outcome) << "\n";
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    std::cerr << "runner merge: nothing merged; " << into << " is as it was\n";
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace tlr::cli
