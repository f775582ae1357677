#include "core/slurm/slurm_jobs.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tlr/error.h"

namespace tlr::slurm {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Finished {
  int status = -1;  // exit status; 127 when the program could not be started
  std::string out, err;
};

std::string drain(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      text.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return text;
}

// Runs a program (PATH lookup) with stdin from /dev/null, capturing stdout and stderr. stderr is
// read after stdout: enough for the short outputs of sbatch and squeue.
Finished run_program(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (pipe(out) != 0 || pipe(err) != 0) throw Error("error: cannot create a pipe");
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("error: cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Finished finished;
  finished.out = drain(out[0]);
  finished.err = drain(err[0]);
  close(out[0]);
  close(err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  finished.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return finished;
}

std::string first_line_of(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

}  // namespace

Submission read_submission(const std::string& slurm_dir) {
  Submission submission;
  std::ifstream in(fs::path(slurm_dir) / "submission.json");
  if (!in) return submission;
  try {
    const json record = json::parse(in);
    submission.experiment = record.value("experiment", "");
    submission.submitted_at = record.value("submitted_at", "");
    submission.merge_job = record.value("merge_job", "");
    for (const json& array : record.value("arrays", json::array())) {
      SubmittedArray a;
      a.job = array.value("job", "");
      a.script = array.value("script", "");
      a.cells = array.value("cells", std::vector<std::string>{});
      submission.arrays.push_back(a);
    }
  } catch (const json::exception&) {
    return Submission{};
  }
  return submission;
}

void write_submission(const std::string& slurm_dir, const Submission& submission) {
  json record;
  record["experiment"] = submission.experiment;
  record["submitted_at"] = submission.submitted_at;
  record["arrays"] = json::array();
  for (const SubmittedArray& a : submission.arrays) {
    record["arrays"].push_back({{"job", a.job}, {"script", a.script}, {"cells", a.cells}});
  }
  record["merge_job"] = submission.merge_job;
  const fs::path path = fs::path(slurm_dir) / "submission.json";
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << record.dump(1) << "\n";
    if (!out.flush()) throw Error(path.string() + ": error: cannot write file");
  }
  fs::rename(tmp, path);
}

bool JobState::active() const {
  return state == "PENDING" || state == "RUNNING" || state == "CONFIGURING" ||
         state == "COMPLETING" || state == "REQUEUED" || state == "REQUEUE_FED" ||
         state == "REQUEUE_HOLD" || state == "RESIZING" || state == "SUSPENDED" ||
         state == "SIGNALING" || state == "STAGE_OUT";
}

std::map<std::string, JobState> job_states(const Submission& submission) {
  std::map<std::string, JobState> states;
  if (submission.arrays.empty()) return states;
  std::string jobs;
  std::map<std::string, std::string> cell_of;  // "<job>_<task>" -> cell
  for (const SubmittedArray& a : submission.arrays) {
    jobs += (jobs.empty() ? "" : ",") + a.job;
    for (std::size_t k = 0; k < a.cells.size(); ++k) {
      cell_of[a.job + "_" + std::to_string(k)] = a.cells[k];
    }
  }
  Finished squeue;
  try {
    squeue = run_program({"squeue", "-h", "-r", "-j", jobs, "-o", "%i|%T|%r"});
  } catch (const Error&) {
    return states;
  }
  // Unknown (long finished) ids make squeue complain; the lines it did print still count.
  std::istringstream lines(squeue.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto bar = line.find('|');
    const auto bar2 = line.find('|', bar + 1);
    if (bar == std::string::npos || bar2 == std::string::npos) continue;
    JobState state;
    state.job = line.substr(0, bar);
    state.state = line.substr(bar + 1, bar2 - bar - 1);
    state.reason = line.substr(bar2 + 1);
    if (state.reason == "None") state.reason.clear();
    auto cell = cell_of.find(state.job);
    if (cell != cell_of.end()) states[cell->second] = state;
  }
  return states;
}

std::string run_sbatch(const std::vector<std::string>& argv) {
  Finished sbatch = run_program(argv);
  if (sbatch.status == 127 && sbatch.out.empty() && sbatch.err.empty()) {
    throw Error(
        "runner submit: error: sbatch not found on PATH: submit from a Slurm login "
        "node (--dry-run writes and prints the scripts without it)");
  }
  if (sbatch.status != 0) {
    const std::string why = first_line_of(sbatch.err.empty() ? sbatch.out : sbatch.err);
    throw Error("runner submit: error: " + argv.back() + ": sbatch exited " +
                std::to_string(sbatch.status) + (why.empty() ? "" : ": " + why));
  }
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  const std::string id = first_line_of(sbatch.out).substr(0, sbatch.out.find(';'));
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos) {
    throw Error("runner submit: error: " + argv.back() + ": sbatch printed no job id ('" +
                first_line_of(sbatch.out) + "')");
  }
  return id;
}

}  // namespace tlr::slurm
