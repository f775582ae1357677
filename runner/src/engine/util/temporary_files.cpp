#include "engine/util/temporary_files.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <filesystem>

namespace tlr {

namespace {

namespace fs = std::filesystem;

const std::string& host_name() {
  static const std::string name = [] {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0) return std::string("localhost");
    std::string host(buffer);
    for (char& c : host) {
      if (c == '/' || c == '-') c = '_';  // '-' separates host and pid in the name
    }
    return host;
  }();
  return name;
}

// The pid in "<anything>.tmp.<host>-<pid>.<n>" when <host> is this one; 0 otherwise.
long long own_host_pid(const std::string& file_name) {
  const std::string marker = ".tmp." + host_name() + "-";
  const std::size_t at = file_name.rfind(marker);
  if (at == std::string::npos) return 0;
  const std::size_t first = at + marker.size();
  const std::size_t dot = file_name.find('.', first);
  if (dot == std::string::npos || dot == first) return 0;
  const std::string digits = file_name.substr(first, dot - first);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  if (file_name.find_first_not_of("0123456789", dot + 1) != std::string::npos) return 0;
  return std::atoll(digits.c_str());
}

bool process_is_gone(long long pid) {
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

}  // namespace

std::string temporary_name(const std::string& path) {
  static std::atomic<unsigned long long> count{0};
  return path + ".tmp." + host_name() + "-" + std::to_string(::getpid()) + "." +
         std::to_string(count++);
}

std::size_t remove_stale_temporaries(const std::string& dir) {
  std::size_t removed = 0;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    std::error_code status_ec;
    if (!it->is_regular_file(status_ec)) continue;
    const long long pid = own_host_pid(it->path().filename().string());
    if (process_is_gone(pid) && fs::remove(it->path(), status_ec)) ++removed;
  }
  return removed;
}

}  // namespace tlr
