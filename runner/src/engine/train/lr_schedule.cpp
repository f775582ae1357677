#include "engine/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "tlr/error.h"

namespace tlr {

LrSchedule::LrSchedule(const ScheduleSettings& settings, std::vector<double> base, int epochs)
    : settings_(settings),
      base_(std::move(base)),
      current_(base_),
      epochs_(std::max(epochs, 1)),
      best_(std::numeric_limits<double>::infinity()) {}

void LrSchedule::restore(const LrScheduleState& state) {
  if (state.current.size() != current_.size()) {
    throw Error("learning-rate schedule state has " + std::to_string(state.current.size()) +
                " groups, the schedule " + std::to_string(current_.size()));
  }
  current_ = state.current;
  best_ = state.best;
  wait_ = state.wait;
}

const std::vector<double>& LrSchedule::step(int epoch, double val_loss, double val_acc) {
  const std::string& name = settings_.name;
  if (name == "plateau") {
    const double value = settings_.monitor == "val_acc" ? -val_acc : val_loss;
    if (value < best_ - settings_.min_delta) {
      best_ = value;
      wait_ = 0;
    } else if (++wait_ >= settings_.patience) {
      for (double& lr : current_) {
        if (lr > settings_.min_lr) lr = std::max(lr * settings_.factor, settings_.min_lr);
      }
      wait_ = 0;
    }
  } else if (name == "step") {
    const double scale = std::pow(settings_.gamma, epoch / settings_.step_size);
    for (std::size_t i = 0; i < base_.size(); ++i) current_[i] = base_[i] * scale;
  } else if (name == "cosine") {
    const double t = std::min(epoch, epochs_) / static_cast<double>(epochs_);
    const double c = (1 + std::cos(M_PI * t)) / 2;
    for (std::size_t i = 0; i < base_.size(); ++i) {
      const double floor = std::min(settings_.min_lr, base_[i]);
      current_[i] = floor + (base_[i] - floor) * c;
    }
  }
  return current_;
}

}  // namespace tlr
