// Where an interrupted cell continues: read from the fit checkpoints it left in its checkpoint
// folder (ResultsLayout::checkpoint_dir), fit-0.pt, fit-1.pt, ... in Cell::fit call order.
#pragma once

#include <string>

namespace tlr {

struct ResumePoint {
  int keep_epochs = 0;      // epoch rows the checkpoints account for: the run keeps these
  int fits_done = 0;        // fit calls that finished (their final weights are saved)
  int epochs_into_fit = 0;  // epochs of the unfinished fit already checkpointed
  int threads = 0;          // torch threads of the process that wrote the last checkpoint; 0 none
  std::string problem;      // "" or why a checkpoint was unreadable (the cell resumes before it)
};

// Reads the checkpoints of `dir` (missing folder: a point at the start). With `drop_unreadable`,
// an unreadable checkpoint and every later one are deleted, so that the cell replays from the last
// good one; without it nothing is changed (runner status).
ResumePoint read_resume_point(const std::string& dir, bool drop_unreadable);

// "from its checkpoint after 12 epochs (1 phase done)", "from its start (no checkpoint yet)".
std::string describe_resume(const ResumePoint& point);

}  // namespace tlr
