// Learning-rate schedules stepped once per epoch, for every parameter group at once.
#pragma once

#include <vector>

#include "engine/train/settings.h"

namespace tlr {

// What a schedule carries from one epoch to the next, for a fit checkpoint: restoring it into a
// schedule built with the same settings, base and epochs continues the same sequence of rates.
struct LrScheduleState {
  std::vector<double> current;  // the rates of the next epoch, one per group
  double best = 0;              // plateau: best monitored value so far, "lower is better"
  int wait = 0;                 // plateau: epochs since it improved
};

class LrSchedule {
 public:
  // `base` holds each group's starting learning rate; `epochs` is the length of the fit (cosine).
  LrSchedule(const ScheduleSettings& settings, std::vector<double> base, int epochs);

  // The learning rates for the next epoch, after epoch `epoch` (1-based) ended with `val_loss`
  // and `val_acc`. plateau: every group times `factor` (not below min_lr) once the monitored
  // value (val_loss falling, or val_acc rising) has not improved by min_delta for `patience`
  // epochs, then the count restarts (Keras ReduceLROnPlateau);
  // step: base × gamma^(epoch / step_size); cosine: min_lr + (base - min_lr)(1 +
  // cos(π·epoch/epochs))/2.
  const std::vector<double>& step(int epoch, double val_loss, double val_acc);
  const std::vector<double>& current() const { return current_; }

  LrScheduleState state() const { return {current_, best_, wait_}; }
  // Throws tlr::Error when `state` holds another number of groups than this schedule.
  void restore(const LrScheduleState& state);

 private:
  ScheduleSettings settings_;
  std::vector<double> base_;
  std::vector<double> current_;
  int epochs_;
  double best_;  // of the monitored value, as "lower is better" (val_acc negated)
  int wait_ = 0;
};

}  // namespace tlr
