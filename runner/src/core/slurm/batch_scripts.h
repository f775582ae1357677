// The batch scripts `runner submit` writes: what each Slurm task runs, and the merge job.
//
// A task script runs one cell (`runner run FILE --only CELL`) into its own shard, a SQLite file on
// node-local disk ($TMPDIR, else a per-task file under <results>/<experiment>/slurm/tmp), and
// moves the shard into <results>/<experiment>/shards/<cell>.db when the runner ends, whole (copy
// next to it, then rename). An earlier attempt's shard is copied back first, so a requeued task
// resumes its cell from the checkpoint the runner left in the shared results folder.
// Preemption and time limits: the script asks for --requeue and --signal=B:USR1@<grace>; it
// passes USR1 on to the runner, which checkpoints at the next batch and exits 75, and then
// requeues its own job (scontrol requeue). On SIGTERM (scancel, requeue, preemption) every
// process of the job gets the signal, the runner too, so the script only waits for it.
// The merge job runs `runner merge` over the shards and prints the experiment's table.
// Every path in a script is absolute, so a task runs the same from any node and working folder.
#pragma once

#include <string>
#include <vector>

#include "core/slurm/job_arrays.h"

namespace tlr::slurm {

// What every script needs to know besides its cells.
struct ScriptContext {
  std::string experiment;
  std::string runner;                 // absolute path of the runner executable
  std::string file;                   // absolute path of the experiment file
  std::string results_dir;            // absolute
  std::string db;                     // absolute: results.db, which the merge writes
  std::string slurm_dir;              // <results>/<experiment>/slurm, absolute
  std::string shards_dir;             // <results>/<experiment>/shards, absolute
  std::vector<std::string> run_args;  // options every task passes to `runner run` (--set, ...)
  int max_parallel = 0;               // array tasks running at once; 0: no limit
  std::string written_at;             // ISO-8601 UTC, for the header comment
};

// `text` in single quotes for bash: 'it'\''s'.
std::string shell_quoted(const std::string& text);

// The script of `arrays[index]`; `names` are the plan's cell names by plan index.
std::string task_script(const ScriptContext& context, const std::vector<JobArray>& arrays,
                        std::size_t index, const std::vector<std::string>& names);

// The merge job's script (its resources are the first array's, one CPU).
std::string merge_script(const ScriptContext& context, const Resources& resources);

// The file name of a cell's shard: safe_name(cell) + ".db".
std::string shard_file(const std::string& cell);

}  // namespace tlr::slurm
