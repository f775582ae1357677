#include "engine/util/fault_point.h"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

namespace tlr {

namespace {

struct FaultSpec {
  std::string name;  // "" = no fault asked for
  long at = 0;
  long seen = 0;
  int signal = SIGKILL;
};

FaultSpec& spec() {
  static FaultSpec parsed = [] {
    FaultSpec s;
    const char* text = std::getenv("TLR_FAULT");
    if (text == nullptr) return s;
    const char* colon = std::strchr(text, ':');
    if (colon == nullptr) return s;
    s.name.assign(text, colon);
    char* end = nullptr;
    s.at = std::strtol(colon + 1, &end, 10);
    if (end != nullptr && std::strcmp(end, ":TERM") == 0) s.signal = SIGTERM;
    if (end != nullptr && std::strcmp(end, ":INT") == 0) s.signal = SIGINT;
    if (end != nullptr && std::strcmp(end, ":USR1") == 0) s.signal = SIGUSR1;
    return s;
  }();
  return parsed;
}

}  // namespace

void fault_point(const char* name) {
  FaultSpec& s = spec();
  if (s.name.empty() || s.name != name) return;
  if (++s.seen == s.at) std::raise(s.signal);
}

}  // namespace tlr
