#include "core/run/stop_signal.h"

#include <csignal>
#include <cstdlib>

namespace tlr {

namespace {

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGUSR1, SIGHUP};
constexpr int kSignalCount = sizeof kSignals / sizeof kSignals[0];

extern "C" void on_stop_signal(int signal) {
  int none = 0;
  if (!stop_signal().compare_exchange_strong(none, signal)) {
    // Second signal: the user means it. The checkpoint of the last epoch (or batch) stays.
    std::_Exit(signal == SIGINT ? kExitInterrupted : kExitCheckpointed);
  }
}

}  // namespace

std::atomic<int>& stop_signal() {
  static std::atomic<int> signal{0};
  return signal;
}

int exit_status_for_stop() {
  return stop_signal().load() == SIGINT ? kExitInterrupted : kExitCheckpointed;
}

struct StopSignalHandlers::Saved {
  struct sigaction previous[kSignalCount];
};

StopSignalHandlers::StopSignalHandlers() : saved_(std::make_unique<Saved>()) {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &action, &saved_->previous[i]);
}

StopSignalHandlers::~StopSignalHandlers() {
  for (int i = 0; i < kSignalCount; ++i) sigaction(kSignals[i], &saved_->previous[i], nullptr);
}

}  // namespace tlr
