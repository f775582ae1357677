#include "core/plugins/loader.h"

#include <algorithm>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
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

}  // namespace

std::string executable_dir() { return boost::dll::program_location().parent_path().string(); }

std::vector<std::string> PluginLoader::default_search_path() {
  std::vector<std::string> dirs;
  dirs.emplace_back(
      (fs::path(executable_dir()) / ".." / "lib" / "tlr" / "plugins").lexically_normal().string());
#ifdef TLR_INSTALL_PLUGIN_DIR
  dirs.emplace_back(TLR_INSTALL_PLUGIN_DIR);
#endif
  if (const char* env = std::getenv("TLR_PLUGIN_PATH")) {
    std::stringstream in(env);
    std::string dir;
    while (std::getline(in, dir, ':')) {
      if (!dir.empty()) dirs.push_back(dir);
    }
  }
  // A folder listed twice (the build tree is also the install prefix) is searched once.
  std::vector<std::string> unique;
  for (const auto& d : dirs) {
    if (std::find(unique.begin(), unique.end(), d) == unique.end()) unique.push_back(d);
  }
  return unique;
}

void PluginLoader::load_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    problems_.push_back({dir, dir + ": error: plugin folder does not exist"});
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

bool PluginLoader::load_file(const std::string& path) {
  std::error_code ec;
  const std::string canonical = fs::weakly_canonical(path, ec).string();
  if (std::find(seen_.begin(), seen_.end(), canonical) != seen_.end()) return true;

  auto refuse = [&](const std::string& why) {
    problems_.push_back({path, path + ": error: " + why});
    return false;
  };

  if (!fs::exists(path, ec)) return refuse("no such file");
  boost::dll::shared_library library;
  try {
    library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return refuse("cannot load plugin: " + dl_reason(e.what()));
  }
  if (!library.has(TLR_PLUGIN_ENTRY_SYMBOL)) {
    return refuse(std::string("not a tlr plugin: no '") + TLR_PLUGIN_ENTRY_SYMBOL +
                  "' entry point; add TLR_PLUGIN(name, version, register_fn) to one source file");
  }
  const tlr_plugin_descriptor* info =
      library.get<const tlr_plugin_descriptor*()>(TLR_PLUGIN_ENTRY_SYMBOL)();
  if (info == nullptr) return refuse("entry point returned no plugin description");
  if (info->abi_version != TLR_ABI_VERSION) {
    return refuse("plugin ABI version " + std::to_string(info->abi_version) + ", runner supports " +
                  std::to_string(TLR_ABI_VERSION) + "; rebuild it against this SDK");
  }
  const std::string torch_version = info->torch_version ? info->torch_version : "unknown";
  if (torch_version != TORCH_VERSION) {
    return refuse("plugin built against libtorch " + torch_version + ", runner uses " +
                  TORCH_VERSION + "; rebuild it against this SDK");
  }
  if (info->cxx11_abi != TLR_CXX11_ABI) {
    return refuse("plugin built with _GLIBCXX_USE_CXX11_ABI=" + std::to_string(info->cxx11_abi) +
                  ", runner uses " + std::to_string(TLR_CXX11_ABI) +
                  "; rebuild it against this SDK");
  }
  if (info->register_fn == nullptr) return refuse("plugin has no register function");

  const std::string plugin_name = info->name ? info->name : fs::path(path).stem().string();
  const std::string plugin_version = info->version ? info->version : "";
  // Register into a scratch registry first, so a refused library leaves nothing behind.
  Registry scratch;
  scratch.set_origin(path, plugin_name, plugin_version);
  try {
    info->register_fn(scratch);
    registry_.absorb(scratch);
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(path + ": error: ", 0) == 0) {
      problems_.push_back({path, msg});
      return false;
    }
    return refuse("registration failed: " + msg);
  } catch (const std::exception& e) {
    return refuse(std::string("registration failed: ") + e.what());
  }
  keep_alive().push_back(std::move(library));
  seen_.push_back(canonical);
  loaded_.push_back({path, plugin_name, plugin_version});
  return true;
}

std::string PluginLoader::problems_text() const {
  std::string out;
  for (const auto& p : problems_) out += p.message + "\n";
  return out;
}

}  // namespace tlr
