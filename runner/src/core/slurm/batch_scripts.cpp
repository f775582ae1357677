#include "core/slurm/batch_scripts.h"

#include <sstream>

#include "core/run/results_layout.h"

namespace tlr::slurm {

namespace {

void resource_lines(std::ostringstream& out, const Resources& resources, int cpus) {
  if (!resources.partition.empty()) out << "#SBATCH --partition=" << resources.partition << "\n";
  if (!resources.time.empty()) out << "#SBATCH --time=" << resources.time << "\n";
  out << "#SBATCH --cpus-per-task=" << cpus << "\n";
  if (!resources.mem.empty()) out << "#SBATCH --mem=" << resources.mem << "\n";
  if (!resources.gres.empty()) out << "#SBATCH --gres=" << resources.gres << "\n";
  for (const std::string& arg : resources.sbatch_args) out << "#SBATCH " << arg << "\n";
}

std::string job_name(const ScriptContext& context, const std::string& what) {
  return "tlr-" + safe_name(context.experiment) + "-" + what;
}

}  // namespace

std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string shard_file(const std::string& cell) { return safe_name(cell) + ".db"; }

std::string task_script(const ScriptContext& context, const std::vector<JobArray>& arrays,
                        std::size_t index, const std::vector<std::string>& names) {
  const JobArray& array = arrays.at(index);
  std::ostringstream out;
  const std::size_t n = array.cells.size();
  out << "#!/bin/bash\n"
      << "# " << context.experiment << ": job array " << index + 1 << " of " << arrays.size()
      << ", " << n << (n == 1 ? " cell" : " cells") << ", one per task.\n"
      << "# Written by `runner submit` at " << context.written_at
      << ". Rerun runner submit rather than\n"
      << "# editing it: it writes the scripts again and submits only cells not completed.\n"
      << "#SBATCH --job-name=" << job_name(context, std::to_string(index + 1)) << "\n"
      << "#SBATCH --array=0-" << n - 1
      << (context.max_parallel > 0 ? "%" + std::to_string(context.max_parallel) : "") << "\n"
      << "#SBATCH --output=" << context.slurm_dir << "/logs/%x_%A_%a.out\n"
      << "#SBATCH --open-mode=append\n"
      << "#SBATCH --requeue\n"
      << "#SBATCH --signal=B:USR1@" << array.resources.grace << "\n";
  resource_lines(out, array.resources, array.resources.cpus_per_task);
  out << "set -uo pipefail\n\n";
  out << "cells=(";
  for (std::size_t k = 0; k < n; ++k) out << (k ? " " : "") << shell_quoted(names[array.cells[k]]);
  out << ")\nfiles=(";
  for (std::size_t k = 0; k < n; ++k) {
    out << (k ? " " : "") << shell_quoted(shard_file(names[array.cells[k]]));
  }
  out << ")\n"
      << "task=${SLURM_ARRAY_TASK_ID:-0}\n"
      << "cell=${cells[$task]}\n"
      << "shards=" << shell_quoted(context.shards_dir) << "\n"
      << "local_dir=${TMPDIR:-" << shell_quoted(context.slurm_dir + "/tmp") << "}\n"
      << "shard=\"$local_dir/tlr-shard-${SLURM_JOB_ID:-$$}-$task.db\"\n"
      << "mkdir -p \"$shards\" \"$local_dir\"\n\n"
      << "# The shard of an attempt before a requeue: the cell resumes from its checkpoint.\n"
      << "if [ -f \"$shards/${files[$task]}\" ]; then cp \"$shards/${files[$task]}\" "
         "\"$shard\"; fi\n\n"
      << shell_quoted(context.runner) << " run " << shell_quoted(context.file)
      << " --only \"$cell\" \\\n"
      << "  --db \"$shard\" --task-shard --results " << shell_quoted(context.results_dir) << " \\\n"
      << "  --threads \"${SLURM_CPUS_PER_TASK:-1}\" --completed-from " << shell_quoted(context.db)
      << " --completed-from \"$shards\"";
  for (const std::string& arg : context.run_args) out << " " << shell_quoted(arg);
  out << " &\n"
      << "runner=$!\n"
      << "# Slurm's warning before the time limit reaches this shell only: pass it on. The runner\n"
      << "# checkpoints at the next batch and exits 75.\n"
      << "trap 'kill -USR1 $runner 2>/dev/null' USR1\n"
      << "# scancel, requeue and preemption signal every process of the job, the runner too.\n"
      << "trap ':' TERM\n"
      << "while kill -0 $runner 2>/dev/null; do wait $runner; done\n"
      << "wait $runner\n"
      << "status=$?\n\n"
      << "# Into the shards folder whole: copied next to its final name, then renamed.\n"
      << "tmp=\"$shards/.${files[$task]}.${SLURM_JOB_ID:-$$}.tmp\"\n"
      << "if [ -f \"$shard\" ] && cp \"$shard\" \"$tmp\" && mv -f \"$tmp\" "
         "\"$shards/${files[$task]}\"; then\n"
      << "  rm -f \"$shard\" \"$shard-wal\" \"$shard-shm\"\n"
      << "fi\n"
      << "if [ \"$status\" -eq 75 ] && [ -n \"${SLURM_JOB_ID:-}\" ]; then\n"
      << "  echo \"tlr: $cell checkpointed; requeueing job $SLURM_JOB_ID to resume it\"\n"
      << "  scontrol requeue \"$SLURM_JOB_ID\" || true\n"
      << "fi\n"
      << "exit $status\n";
  return out.str();
}

std::string merge_script(const ScriptContext& context, const Resources& resources) {
  std::ostringstream out;
  out << "#!/bin/bash\n"
      << "# " << context.experiment
      << ": merges the tasks' shards into results.db once every task has ended,\n"
      << "# then prints the comparison table. Written by `runner submit` at " << context.written_at
      << ".\n"
      << "#SBATCH --job-name=" << job_name(context, "merge") << "\n"
      << "#SBATCH --output=" << context.slurm_dir << "/logs/%x_%j.out\n";
  Resources merge = resources;
  merge.gres.clear();  // merging needs no accelerator
  resource_lines(out, merge, 1);
  out << "set -euo pipefail\n"
      << shell_quoted(context.runner) << " merge " << shell_quoted(context.shards_dir) << " --into "
      << shell_quoted(context.db) << "\n"
      << shell_quoted(context.runner) << " report --db " << shell_quoted(context.db)
      << " --experiment " << shell_quoted(context.experiment) << " --html "
      << shell_quoted(context.results_dir) << "\n";
  return out.str();
}

}  // namespace tlr::slurm
