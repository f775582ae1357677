#include "core/plugins/loader.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "tlr/error.h"
#include "tlr/plugin.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

// Never destroyed: unloading a library while objects made from it live (or during static
// destruction, in an unknown order) is the classic plugin crash; the OS reclaims all at exit.
std::vector<boost::dll::shared_library>& keep_alive() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}

// boost's message wraps dlerror(); keep the part a user can act on.
std::string dl_reason(const std::string& what) {
  const std::string key = "dlerror system message: ";
  auto at = what.find(key);
  if (at == std::string::npos) return what;
  std::string reason = what.substr(at + key.size());
  auto end = reason.rfind(')');
  if (end != std::string::npos) reason = reason.substr(0, end);
  return reason;
}

// The line printed when a register function crashes. Written by the signal handler with write(2)
// only (async-signal-safe); set before register_fn runs.
char g_crash_line[4096];
std::size_t g_crash_length = 0;

extern "C" void on_fatal_signal_in_register(int signal_number) {
  if (g_crash_length > 0) {
    const ssize_t written = write(STDERR_FILENO, g_crash_line, g_crash_length);
    (void)written;
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

// While alive, a fatal signal prints which library's register function was running.
class CrashNote {
 public:
  explicit CrashNote(const std::string& library) {
    const std::string line = library + ": error: crashed in its register function (fatal signal)\n";
    g_crash_length = std::min(line.size(), sizeof(g_crash_line));
    std::copy(line.begin(), line.begin() + static_cast<std::ptrdiff_t>(g_crash_length),
              g_crash_line);
    struct sigaction action {};
    action.sa_handler = on_fatal_signal_in_register;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &action, &old_[i]);
  }
  ~CrashNote() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    g_crash_length = 0;
  }
  CrashNote(const CrashNote&) = delete;
  CrashNote& operator=(const CrashNote&) = delete;

 private:
  static constexpr std::array<int, 5> kSignals = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
  std::array<struct sigaction, 5> old_{};
};

}  // namespace

std::string executable_dir() { return boost::dll::program_location().parent_path().string(); }

std::vector<std::string> PluginLoader::default_search_path() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("TLR_PLUGIN_PATH")) {
    std::stringstream in(env);
    std::string dir;
    while (std::getline(in, dir, ':')) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  dirs.emplace_back(
      (fs::path(executable_dir()) / ".." / "lib" / "tlr" / "plugins").lexically_normal().string());
#ifdef TLR_INSTALL_PLUGIN_DIR
  dirs.emplace_back(TLR_INSTALL_PLUGIN_DIR);
#endif
  // A folder listed twice (the build tree is also the install prefix) is searched once.
  std::vector<std::string> unique;
  for (const auto& d : dirs) {
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  }
  return unique;
}

bool PluginLoader::refuse(const std::string& path, const std::string& why) {
  problems_.push_back({path, why, true, path + ": error: " + why});
  return false;
}

void PluginLoader::warn(const std::string& where, const std::string& why) {
  problems_.push_back({where, why, false, where + ": warning: " + why});
}

bool PluginLoader::any_refused() const {
  return std::any_of(problems_.begin(), problems_.end(),
                     [](const PluginProblem& p) { return p.refused; });
}

void PluginLoader::load_directory(const std::string& dir) {
  if (any_directory_) ++level_;
  any_directory_ = true;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    warn(dir, "plugin folder does not exist");
    return;
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file(ec) && name.rfind("lib", 0) == 0 &&
        entry.path().extension() == ".so") {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f);
}

bool PluginLoader::load_file(const std::string& given) {
  std::error_code ec;
  // Absolute, so that what runs record and messages name is the file itself.
  const std::string path =
      given.empty() ? given : fs::absolute(given, ec).lexically_normal().string();
  const std::string canonical = fs::weakly_canonical(path, ec).string();
  if (std::find(seen_.begin(), seen_.end(), canonical) != seen_.end()) return true;

  if (!fs::exists(path, ec)) return refuse(path, "no such file");
  boost::dll::shared_library library;
  try {
    library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return refuse(path, "cannot load plugin: " + dl_reason(e.what()));
  }
  if (!library.has(TLR_PLUGIN_ENTRY_SYMBOL)) {
    return refuse(path, std::string("not a tlr plugin: no '") + TLR_PLUGIN_ENTRY_SYMBOL +
                            "' entry point; add TLR_PLUGIN(name, version, register_fn) to one "
                            "source file");
  }
  const tlr_plugin_descriptor* info =
      library.get<const tlr_plugin_descriptor*()>(TLR_PLUGIN_ENTRY_SYMBOL)();
  if (info == nullptr) return refuse(path, "entry point returned no plugin description");
  if (info->abi_version != TLR_ABI_VERSION) {
    return refuse(path, "plugin ABI version " + std::to_string(info->abi_version) +
                            ", runner supports " + std::to_string(TLR_ABI_VERSION) +
                            "; rebuild it against this SDK");
  }
  const std::string torch_version = info->torch_version ? info->torch_version : "unknown";
  if (torch_version != TORCH_VERSION) {
    return refuse(path, "plugin built against libtorch " + torch_version + ", runner uses " +
                            TORCH_VERSION + "; rebuild it against this SDK");
  }
  if (info->cxx11_abi != TLR_CXX11_ABI) {
    return refuse(path, "plugin built with _GLIBCXX_USE_CXX11_ABI=" +
                            std::to_string(info->cxx11_abi) + ", runner uses " +
                            std::to_string(TLR_CXX11_ABI) + "; rebuild it against this SDK");
  }
  if (info->register_fn == nullptr) return refuse(path, "plugin has no register function");

  const std::string plugin_name = info->name ? info->name : fs::path(path).stem().string();
  const std::string plugin_version = info->version ? info->version : "";
  // Register into a scratch registry first, so a refused library leaves nothing behind.
  Registry scratch;
  scratch.set_origin(path, plugin_name, plugin_version);
  try {
    CrashNote note(path);
    info->register_fn(scratch);
  } catch (const std::exception& e) {
    return refuse(path, std::string("registration failed: ") + e.what());
  }
  // Precedence: a component an earlier folder provides wins; the same level twice is an error.
  std::vector<std::pair<Kind, std::string>> shadowed;
  for (const ComponentInfo& c : scratch.components()) {
    const ComponentInfo* old = registry_.find(c.kind, c.name);
    if (old == nullptr) continue;
    const auto old_level = level_of_.find(old->library);
    if (old_level != level_of_.end() && old_level->second < level_) {
      shadowed.emplace_back(c.kind, c.name);
      continue;
    }
    return refuse(path, std::string("duplicate ") + kind_name(c.kind) + " '" + c.name +
                            "', already registered by " + old->library);
  }
  for (const auto& [kind, name] : shadowed) {
    scratch.erase(kind, name);
    warn(path, std::string(kind_name(kind)) + " '" + name +
                   "' skipped: " + registry_.find(kind, name)->library +
                   " provides it from earlier on the "
                   "plugin path");
  }
  try {
    registry_.absorb(scratch);
  } catch (const Error& e) {
    return refuse(path, e.what());
  }
  keep_alive().push_back(std::move(library));
  seen_.push_back(canonical);
  level_of_[path] = level_;
  loaded_.push_back({path, plugin_name, plugin_version});
  return true;
}

std::string PluginLoader::problems_text() const {
  std::string out;
  for (const auto& p : problems_) out += p.message + "\n";
  return out;
}

}  // namespace tlr
