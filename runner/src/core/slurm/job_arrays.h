// How `runner submit` lays the cells of an experiment out as Slurm jobs: one job array per group
// of cells that can start together, each task one cell, and one merge job after all of them.
//
// A cell that loads weights another pending cell publishes waits for exactly that cell: its array
// depends (afterok) on the publisher's own array task ("<job>_<task>"), so one failed publisher
// holds back only the cells that need its weights. Cells wait for nothing when they load nothing,
// or when their publisher completed earlier (results.db or a shard has it). Cells are grouped by
// (the publisher they wait for, their resources); arrays come in plan order, so an array's
// publishers are always in an earlier array.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/config/plan.h"

namespace tlr::slurm {

// What a task asks Slurm for. "" / 0: not given (the cluster's default).
struct Resources {
  std::string partition;
  std::string time;  // HH:MM:SS, D-HH:MM:SS, minutes: as sbatch --time takes it
  int cpus_per_task = 1;
  std::string gres;
  std::string mem;
  std::vector<std::string> sbatch_args;  // passed as they are (--account=..., --qos=...)
  int grace = 120;  // seconds before the time limit at which the task is told to checkpoint
  bool operator==(const Resources& other) const;
};

struct TaskRef {
  std::size_t array = 0;  // index in the arrays
  std::size_t task = 0;   // index in that array's cells
};

struct JobArray {
  std::vector<std::size_t> cells;    // plan.models indices, one task each, in order
  std::optional<TaskRef> waits_for;  // the publisher's task; nullopt: starts at once
  Resources resources;
};

// `base` with the keys of a `slurm:` section (the experiment's or a model's) over it.
Resources with_section(Resources base, const nlohmann::json& section);

// `pending`: the plan.models indices to submit, in plan order. `resources_of(i)` gives cell i's.
std::vector<JobArray> job_arrays(const config::Plan& plan, const std::vector<std::size_t>& pending,
                                 const std::vector<Resources>& resources_of);

}  // namespace tlr::slurm
