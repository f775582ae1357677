#include "engine/train/settings.h"

#include <string>
#include <vector>

#include "tlr/error.h"

namespace tlr {

namespace {

[[noreturn]] void bad(const std::string& key, const std::string& problem) {
  throw Error("training." + key + ": " + problem);
}

std::string one_of(const Params& p, const std::string& section, const std::string& key,
                   const std::string& fallback, const std::vector<std::string>& allowed) {
  std::string value = p.string(key, fallback);
  for (const auto& a : allowed) {
    if (a == value) return value;
  }
  std::string list;
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    list += (i == 0 ? "" : i + 1 == allowed.size() ? " or " : ", ") + allowed[i];
  }
  bad(section + key, "unknown value '" + value + "'; expected " + list);
}

double positive(const Params& p, const std::string& section, const std::string& key,
                double fallback, bool allow_zero) {
  const double value = p.number(key, fallback);
  if (value < 0 || (!allow_zero && value == 0)) {
    bad(section + key,
        "must be " + std::string(allow_zero ? ">= 0" : "> 0") + ", got " + std::to_string(value));
  }
  return value;
}

int count(const Params& p, const std::string& section, const std::string& key, int fallback,
          int minimum) {
  const std::int64_t value = p.integer(key, fallback);
  if (value < minimum) {
    bad(section + key, "must be >= " + std::to_string(minimum) + ", got " + std::to_string(value));
  }
  return static_cast<int>(value);
}

}  // namespace

TrainingSettings TrainingSettings::parse(const Params& training) {
  TrainingSettings s;
  s.batch_size = count(training, "", "batch_size", static_cast<int>(s.batch_size), 1);
  s.epochs = count(training, "", "epochs", s.epochs, 0);
  s.steps_per_epoch = count(training, "", "steps_per_epoch", s.steps_per_epoch, 0);
  s.drop_last = training.has("drop_last") && training.boolean("drop_last");

  const Params opt = training.child("optimizer");
  OptimizerSettings& o = s.optimizer;
  o.name = one_of(opt, "optimizer.", "name", o.name, {"rmsprop", "adam", "sgd"});
  o.lr = positive(opt, "optimizer.", "lr", o.lr, true);
  o.rho = opt.number("rho", o.rho);
  if (o.rho < 0 || o.rho >= 1) bad("optimizer.rho", "must be in [0, 1)");
  o.eps = positive(opt, "optimizer.", "eps", o.eps, true);
  o.momentum = positive(opt, "optimizer.", "momentum", o.momentum, true);
  o.weight_decay = positive(opt, "optimizer.", "weight_decay", o.weight_decay, true);
  const std::vector<double> betas = opt.numbers("betas");
  if (!betas.empty()) {
    if (betas.size() != 2) bad("optimizer.betas", "expected two numbers [beta1, beta2]");
    for (double b : betas) {
      if (b < 0 || b >= 1) bad("optimizer.betas", "each beta must be in [0, 1)");
    }
    o.beta1 = betas[0];
    o.beta2 = betas[1];
  }

  const Params sched = training.child("schedule");
  ScheduleSettings& c = s.schedule;
  c.name = one_of(sched, "schedule.", "name", c.name, {"none", "plateau", "step", "cosine"});
  c.factor = sched.number("factor", c.factor);
  if (c.factor <= 0 || c.factor >= 1) bad("schedule.factor", "must be in (0, 1)");
  c.patience = count(sched, "schedule.", "patience", c.patience, 0);
  c.min_delta = positive(sched, "schedule.", "min_delta", c.min_delta, true);
  c.min_lr = positive(sched, "schedule.", "min_lr", c.min_lr, true);
  c.monitor = one_of(sched, "schedule.", "monitor", c.monitor, {"val_loss", "val_acc"});
  c.step_size = count(sched, "schedule.", "step_size", c.step_size, 1);
  c.gamma = positive(sched, "schedule.", "gamma", c.gamma, false);

  const Params stop = training.child("early_stopping");
  EarlyStoppingSettings& e = s.early_stopping;
  e.patience = count(stop, "early_stopping.", "patience", e.patience, 0);
  e.min_delta = positive(stop, "early_stopping.", "min_delta", e.min_delta, true);
  e.monitor = one_of(stop, "early_stopping.", "monitor", e.monitor, {"val_loss", "val_acc"});
  return s;
}

}  // namespace tlr
