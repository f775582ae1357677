// Learning-rate schedules stepped once per epoch, for every parameter group at once.
#pragma once

#include <vector>

#include "engine/train/settings.h"

namespace tlr {

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

 private:
  ScheduleSettings settings_;
  std::vector<double> base_;
  std::vector<double> current_;
  int epochs_;
  double best_;  // of the monitored value, as "lower is better" (val_acc negated)
  int wait_ = 0;
};

}  // namespace tlr
