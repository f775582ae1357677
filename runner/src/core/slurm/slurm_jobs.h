// Talking to Slurm: submitting a batch script, asking where jobs stand, and the record of what
// `runner submit` submitted (<results>/<experiment>/slurm/submission.json), which `runner status`
// and a later submit read.
// Threads: plain functions; each call runs Slurm's commands as child processes and waits.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tlr::slurm {

struct SubmittedArray {
  std::string job;  // the array's job id
  std::string script;
  std::vector<std::string> cells;  // by task index
};

struct Submission {
  std::string experiment;
  std::string submitted_at;  // ISO-8601 UTC
  std::vector<SubmittedArray> arrays;
  std::string merge_job;  // "" when it was not submitted
};

// The submission.json of `slurm_dir`; an empty Submission when there is none (or it is
// unreadable: it only informs status).
Submission read_submission(const std::string& slurm_dir);
// Writes it whole (temp file, then rename). Throws tlr::Error when it cannot.
void write_submission(const std::string& slurm_dir, const Submission& submission);

struct JobState {
  std::string job;     // "<array job>_<task>"
  std::string state;   // squeue's: PENDING, RUNNING, COMPLETING, ...
  std::string reason;  // squeue's reason (Dependency, Priority, ...) or ""
  // Queued or running: the job will still run the cell.
  bool active() const;
};

// Per cell name, the state squeue reports of its task in `submission`. Cells whose task squeue
// does not list (ended and forgotten, or squeue missing) are absent.
std::map<std::string, JobState> job_states(const Submission& submission);

// Runs `argv` (sbatch --parsable ...) and returns the job id it prints. Throws tlr::Error
// "runner submit: error: <sbatch's message>" when it fails or is not installed.
std::string run_sbatch(const std::vector<std::string>& argv);

}  // namespace tlr::slurm
