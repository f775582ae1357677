// Stopping a run cleanly. SIGINT (Ctrl-C), SIGTERM (kill, timeout, docker stop, systemd, a
// cluster's pre-emption), SIGUSR1 (Slurm's --signal warning) and SIGHUP (the terminal or ssh
// session closed) all ask the running cell to stop: a fit in progress saves its
// checkpoint at the next batch boundary, the run is recorded 'interrupted' and the runner exits
// with kExitInterrupted (SIGINT) or kExitCheckpointed (the others): "rerun me to resume".
// A second signal while stopping ends the process at once (the last checkpoint stays).
//
// Thread safety: the flag is an atomic set from the signal handler and read from any thread.
#pragma once

#include <atomic>
#include <memory>

namespace tlr {

// 130: stopped by Ctrl-C (128 + SIGINT, what shells report).
constexpr int kExitInterrupted = 130;
// 75 (EX_TEMPFAIL): stopped by SIGTERM, SIGUSR1 or SIGHUP with the running cell checkpointed;
// rerunning the same command resumes it.
constexpr int kExitCheckpointed = 75;

// The signal that asked the run to stop; 0 while none did.
std::atomic<int>& stop_signal();
inline bool stop_requested() { return stop_signal().load() != 0; }
// The exit status for the signal that stopped the run (kExitInterrupted for SIGINT).
int exit_status_for_stop();

// Installs the handlers for SIGINT, SIGTERM, SIGUSR1 and SIGHUP; the destructor restores the
// previous handlers. The flag stays set once a signal came.
class StopSignalHandlers {
 public:
  StopSignalHandlers();
  ~StopSignalHandlers();
  StopSignalHandlers(const StopSignalHandlers&) = delete;
  StopSignalHandlers& operator=(const StopSignalHandlers&) = delete;

 private:
  struct Saved;
  std::unique_ptr<Saved> saved_;
};

}  // namespace tlr
