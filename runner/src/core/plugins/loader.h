// Discovers plugin libraries and registers their components. Checks run in order — the library
// opens with every symbol resolved, it has the entry point, its SDK ABI, libtorch version and C++11
// ABI flag match the runner's, its register function succeeds, and none of its component names is
// taken — and a library failing any check is refused whole, with one line naming the file.
// Loaded libraries stay loaded for the life of the process (components hold code from them).
#pragma once

#include <string>
#include <vector>

#include "tlr/registry.h"

namespace tlr {

struct PluginProblem {
  std::string library;
  std::string message;  // the whole line: "<library>: error: ..."
};

struct LoadedPlugin {
  std::string library;
  std::string name;
  std::string version;
};

class PluginLoader {
 public:
  explicit PluginLoader(Registry& registry) : registry_(registry) {}

  // The folders searched, in order: the runner's own plugin folder (<bin>/../lib/tlr/plugins,
  // build and install trees alike), the install folder, then TLR_PLUGIN_PATH (colon-separated).
  static std::vector<std::string> default_search_path();

  // Loads every lib*.so directly in `dir` (sorted by name); a missing folder is a problem too.
  void load_directory(const std::string& dir);
  // Loads one library; returns false and records a problem when it is refused.
  bool load_file(const std::string& path);

  const std::vector<PluginProblem>& problems() const { return problems_; }
  const std::vector<LoadedPlugin>& loaded() const { return loaded_; }
  // The problems' messages, one per line, for a "note:" after an unknown-component error.
  std::string problems_text() const;

 private:
  Registry& registry_;
  std::vector<PluginProblem> problems_;
  std::vector<LoadedPlugin> loaded_;
  std::vector<std::string> seen_;  // canonical paths already loaded (a folder may be listed twice)
};

// Absolute path of the running executable's folder.
std::string executable_dir();

}  // namespace tlr
