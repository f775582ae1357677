// The model's `training` block, parsed once and checked: what the trainer needs to run epochs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tlr/params.h"

namespace tlr {

struct OptimizerSettings {
  std::string name = "rmsprop";  // rmsprop | adam | sgd
  double lr = 1e-3;
  double rho = 0.9;     // RMSprop decay (Keras default), torch's `alpha`
  double eps = 1e-7;    // Keras default; RMSprop and Adam add it outside the square root
  double momentum = 0;  // sgd and rmsprop
  double weight_decay = 0;
  double beta1 = 0.9;    // adam
  double beta2 = 0.999;  // adam
};

struct ScheduleSettings {
  std::string name = "none";  // none | plateau | step | cosine
  double factor = 0.1;        // plateau: lr *= factor after `patience` epochs without improvement
  int patience = 10;          // plateau (Keras ReduceLROnPlateau defaults)
  double min_delta = 1e-4;    // plateau: a smaller change of the monitored value is no improvement
  std::string monitor = "val_loss";  // plateau: val_loss (lower is better) | val_acc (higher)
  double min_lr = 0;                 // plateau and cosine: the floor
  int step_size = 10;                // step: lr *= gamma every step_size epochs
  double gamma = 0.1;                // step
};

struct EarlyStoppingSettings {
  int patience = 0;                  // epochs without improvement before stopping; 0: off
  double min_delta = 0;              // a smaller change is no improvement
  std::string monitor = "val_loss";  // val_loss | val_acc
};

struct TrainingSettings {
  std::int64_t batch_size = 30;
  int epochs = 30;
  int steps_per_epoch = 0;  // 0: one pass over the train split per epoch
  bool drop_last = false;   // skip a last training batch smaller than batch_size
  OptimizerSettings optimizer;
  ScheduleSettings schedule;
  EarlyStoppingSettings early_stopping;

  // `training` is the model's resolved training object; absent keys keep the defaults above.
  // Throws tlr::Error naming the key ("training.optimizer.name: ...") for an unknown name or an
  // out-of-range value.
  static TrainingSettings parse(const Params& training);
};

}  // namespace tlr
