#include "core/run/parallel_cells.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/run/stop_signal.h"
#include "tlr/error.h"

namespace tlr {

namespace {

pid_t start_worker(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0)
    throw Error(std::string("runner run --jobs: error: cannot start a worker: ") +
                std::strerror(errno));
  if (pid == 0) {
    // Own process group: the terminal's Ctrl-C goes to the coordinator alone, which forwards it
    // once (a second SIGINT would make a worker exit without recording its run).
    setpgid(0, 0);
    // The coordinator's handlers do not survive exec; signals it blocked would.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    std::_Exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so a signal sent before the child ran lands
  return pid;
}

// A rough, config-only guess of a cell's training work: training images per epoch (the integer
// per_class.train times the classes, or steps_per_epoch × batch_size) times the epochs. Only the
// order matters: long work starts first, so the last cells to finish are short and the workers end
// together (a long cell started last leaves the other workers idle meanwhile).
double estimated_work(const nlohmann::json& model) {
  const nlohmann::json training = model.value("training", nlohmann::json::object());
  const double epochs = std::max(1.0, training.value("epochs", 1.0));
  const double steps = training.value("steps_per_epoch", 0.0);
  double images = 1;
  if (steps > 0) {
    images = steps * std::max(1.0, training.value("batch_size", 1.0));
  } else {
    const nlohmann::json split =
        model.value("data", nlohmann::json::object()).value("split", nlohmann::json::object());
    const nlohmann::json per_class = split.value("per_class", nlohmann::json::object());
    const nlohmann::json train =
        per_class.is_object() ? per_class.value("train", nlohmann::json()) : nlohmann::json();
    const double classes =
        split.contains("classes") && split["classes"].is_array() ? split["classes"].size() : 1.0;
    if (train.is_number() && train.get<double>() >= 1) images = train.get<double>() * classes;
  }
  return images * epochs;
}

int exit_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

}  // namespace

std::string self_executable() {
  std::error_code ec;
  const auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec)
    throw Error("runner run --jobs: error: cannot find the runner's own path: " + ec.message());
  return path.string();
}

ParallelOutcome run_cells_in_parallel(
    const config::Plan& plan, const std::vector<std::size_t>& cells, int jobs,
    const std::function<std::vector<std::string>(std::size_t)>& worker_argv) {
  ParallelOutcome outcome;
  outcome.exit.assign(cells.size(), -1);
  std::map<pid_t, std::size_t> running;  // pid -> position in `cells`
  std::vector<bool> ended(cells.size(), false);
  std::size_t next = 0;
  bool forwarded = false;

  // A cell may start when the cell publishing the weights it loads (if that one is among `cells`)
  // has ended; cells start in plan order otherwise.
  auto ready = [&](std::size_t position) {
    const std::size_t publisher = plan.models[cells[position]].publisher;
    for (std::size_t j = 0; j < position; ++j) {
      if (cells[j] == publisher && !ended[j]) return false;
    }
    return true;
  };

  std::vector<bool> started(cells.size(), false);
  // Priority: a cell's own work plus the longest chain of work waiting on it (its loaders, theirs
  // and so on), so a publisher that many long cells wait for starts before a long cell nobody
  // waits for. Loaders come after their publishers in the plan, so one backward pass suffices.
  std::vector<double> work(cells.size());
  for (std::size_t p = 0; p < cells.size(); ++p) {
    work[p] = estimated_work(plan.models[cells[p]].json);
  }
  for (std::size_t p = cells.size(); p-- > 0;) {
    double longest_after = 0;
    for (std::size_t q = p + 1; q < cells.size(); ++q) {
      if (plan.models[cells[q]].publisher == cells[p]) {
        longest_after = std::max(longest_after, work[q]);
      }
    }
    work[p] += longest_after;
  }
  while (true) {
    if (!stop_requested()) {
      while (static_cast<int>(running.size()) < jobs) {
        // The ready cell with the highest priority; plan order among equals.
        std::size_t pick = cells.size();
        for (std::size_t p = next; p < cells.size(); ++p) {
          if (!started[p] && ready(p) && (pick == cells.size() || work[p] > work[pick])) pick = p;
        }
        if (pick == cells.size()) break;
        running[start_worker(worker_argv(cells[pick]))] = pick;
        started[pick] = true;
      }
      while (next < cells.size() && started[next]) ++next;
    } else if (!forwarded) {
      for (const auto& [pid, position] : running) kill(pid, stop_signal().load());
      forwarded = true;
    }
    if (running.empty() && (stop_requested() || next >= cells.size())) break;

    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    auto it = running.find(pid);
    if (it == running.end()) continue;
    const std::size_t position = it->second;
    running.erase(it);
    ended[position] = true;
    const int code = exit_status(status);
    outcome.exit[position] = code;
    if (code == kExitInterrupted || code == kExitCheckpointed) {
      ++outcome.interrupted;
    } else if (code != 0) {
      ++outcome.failed;
      if (code != 1) {
        std::cerr << plan.models[cells[position]].name << ": error: its worker process ended with "
                  << (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                          : "status " + std::to_string(code))
                  << "\n";
      }
    }
  }
  outcome.stop_signal = stop_signal().load();
  return outcome;
}

}  // namespace tlr
