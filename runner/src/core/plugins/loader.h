// Discovers plugin libraries and registers their components. Checks run in order — the library
// opens with every symbol resolved, it has the entry point, its SDK ABI, libtorch version and C++11
// ABI flag match the runner's, its register function succeeds — and a library failing any check is
// refused whole, with one line naming the file. Loaded libraries stay loaded for the life of the
// process (components hold code from them).
//
// Precedence: folders are searched in the order they are loaded (load_directory), the first one
// winning: a component another library already provides from an earlier folder is skipped with a
// warning naming both files (the earlier one is used); the same name twice within one folder (or
// between two load_file() calls) refuses the second library, naming both. The command line loads
// --plugin-path folders first, then the YAML's plugin_paths, then default_search_path().
//
// A register function that crashes (a fatal signal) cannot be recovered from: the process prints
// "<library>: error: crashed in its register function" and dies of that signal.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tlr/registry.h"

namespace tlr {

struct PluginProblem {
  std::string library;   // the file, or the folder
  std::string reason;    // "plugin ABI version 2, runner supports 4; rebuild it against this SDK"
  bool refused = false;  // a library was not loaded (else: a folder missing, a component skipped)
  std::string message;   // the whole line: "<library>: error: <reason>" for a refusal, else
                         // "<library>: warning: <reason>"
  // The line with another severity word ("warning" when the run goes on without the library).
  std::string line(const char* severity) const { return library + ": " + severity + ": " + reason; }
};

struct LoadedPlugin {
  std::string library;  // absolute
  std::string name;
  std::string version;
};

class PluginLoader {
 public:
  explicit PluginLoader(Registry& registry) : registry_(registry) {}

  // The folders searched after the explicit ones, in order: TLR_PLUGIN_PATH (colon-separated),
  // the runner's own plugin folder (<bin>/../lib/tlr/plugins, build and install trees alike), the
  // install folder.
  static std::vector<std::string> default_search_path();

  // Loads every lib*.so directly in `dir` (sorted by name) as the next precedence level. A missing
  // folder is a warning.
  void load_directory(const std::string& dir);
  // Loads one library at the current precedence level; returns false and records a problem when
  // it is refused.
  bool load_file(const std::string& path);

  const std::vector<PluginProblem>& problems() const { return problems_; }
  bool any_refused() const;
  const std::vector<LoadedPlugin>& loaded() const { return loaded_; }
  // The problems' messages, one per line.
  std::string problems_text() const;

 private:
  bool refuse(const std::string& path, const std::string& why);
  void warn(const std::string& where, const std::string& why);

  Registry& registry_;
  std::vector<PluginProblem> problems_;
  std::vector<LoadedPlugin> loaded_;
  std::vector<std::string> seen_;        // canonical paths already loaded
  std::map<std::string, int> level_of_;  // library -> precedence level (0 first)
  int level_ = 0;
  bool any_directory_ = false;
};

// Absolute path of the running executable's folder.
std::string executable_dir();

}  // namespace tlr
