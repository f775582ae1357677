// What a person watching a fit sees on stderr: a live bar with ETA on a terminal, one line per
// epoch in a log, nothing when quiet.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "engine/train/trainer.h"

namespace tlr {

enum class ProgressStyle { bar, lines, quiet };

// bar when stderr is a terminal, lines otherwise, quiet when `quiet`.
ProgressStyle progress_style_for_stderr(bool quiet);

class ProgressPrinter {
 public:
  // `label` (e.g. the model name) starts every line.
  ProgressPrinter(std::ostream& out, ProgressStyle style, std::string label);

  void on_progress(const TrainProgress& progress);
  void on_epoch(const EpochRecord& record);
  // `callbacks` with this printer called first on each event. The printer must outlive them.
  TrainerCallbacks attach(TrainerCallbacks callbacks);

 private:
  std::string prefix(int epoch, int epochs, const std::string& phase) const;

  std::ostream& out_;
  ProgressStyle style_;
  std::string label_;
  std::chrono::steady_clock::time_point last_draw_{};
  bool bar_open_ = false;
};

}  // namespace tlr
