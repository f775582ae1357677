// The training loop behind Cell::fit: epochs of train + validate, learning-rate schedule,
// keep-best checkpoint, early stopping and a NaN guard. It stores nothing itself: the runner
// records every epoch through the callbacks.
#pragma once

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/train/fit_checkpoint.h"
#include "engine/train/output_mode.h"
#include "engine/train/settings.h"
#include "tlr/precision.h"
#include "tlr/strategy.h"

namespace tlr {

// One finished epoch, as the run store keeps it.
struct EpochRecord {
  int epoch = 0;      // 1-based within the fit() call
  int epochs = 0;     // planned epochs of this fit() call
  std::string phase;  // FitOverrides::phase ("" for a single phase)
  double train_loss = 0;
  double train_acc = 0;
  double val_loss = 0;
  double val_acc = 0;
  double lr = 0;                  // learning rate of the first group during this epoch
  std::vector<double> group_lrs;  // every group's, in the order given to fit()
  double seconds = 0;             // train + validation
  double images_per_second = 0;   // training samples per second of training time
};

// Within an epoch, after each training batch.
struct TrainProgress {
  int epoch = 0;
  int epochs = 0;
  std::string phase;
  std::int64_t done = 0;   // training samples seen this epoch
  std::int64_t total = 0;  // samples expected this epoch
  double loss = 0;         // running mean over the epoch so far
  double accuracy = 0;     // running accuracy over the epoch so far
  double seconds = 0;      // since the epoch started
};

struct TrainerCallbacks {
  std::function<void(const EpochRecord&)> on_epoch;       // may throw to abort the fit
  std::function<void(const TrainProgress&)> on_progress;  // for a progress display
};

// An optimizer with one parameter group per ParamGroup (only tensors with requires_grad, empty
// groups skipped), each with its own learning rate. Throws tlr::Error when nothing trains.
// `kept` receives the indices of the groups that made it into the optimizer.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& settings,
                                                        const std::vector<ParamGroup>& groups,
                                                        std::vector<std::size_t>* kept = nullptr);

// Throws tlr::Error naming the fixes (training.drop_last, nearby batch sizes) when the last
// training batch of an epoch over `samples` images would hold one image and `model`, put in
// training mode, trains a BatchNorm1d (it cannot normalise one sample). Trainer::fit calls it.
void check_last_batch(Classifier& model, const TrainingSettings& settings, std::size_t samples);

class Trainer {
 public:
  // `threads` > 0 sets torch's intra-op thread count for the fit; 0 leaves it alone.
  Trainer(TrainingSettings settings, OutputMode mode, int threads = 0,
          TrainerCallbacks callbacks = {});
  ~Trainer();

  // Per epoch: train (model.train(), one optimizer group per ParamGroup), validate
  // (model.eval(), no grad), step the schedule, keep a copy of the weights (parameters and
  // buffers) when validation accuracy is the best so far, stop early when asked to. Returns with
  // the best epoch's weights restored. Throws tlr::Error("epoch 3: loss is nan; stopping (lower
  // the learning rate?)") when a loss stops being finite; the epoch is prefixed by the phase when
  // there is one ("fine-tune epoch 3: ...").
  // Before the first epoch it refuses (tlr::Error naming a fix) a split whose last batch would
  // hold one image when the model trains a BatchNorm over features (BatchNorm1d cannot normalise
  // one sample), unless settings.drop_last skips that batch.
  // The train batches get start_epoch(n) with n counting passes from 1 (one pass per epoch unless
  // steps_per_epoch asks for more); the val batches get start_epoch(epoch).
  //
  // With checkpointing set (set_checkpointing, a non-empty path; see fit_checkpoint.h):
  // - no file at the path: trains as above and saves the whole state at the end of every epoch
  //   (after its on_epoch, the schedule step and the early-stopping update);
  // - after a training batch (and after an epoch's save, when another epoch follows),
  //   stop_requested() true saves the state at that point and throws CheckpointedStop;
  // - a file that is not done: restores the state (weights, optimizer, schedule, early stopping,
  //   keep-best, the CPU generator, the position down to the batch) and continues; on_epoch is
  //   called for the epochs after FitCheckpointSummary::epochs_recorded only, and the records and
  //   the result are those of a fit that never stopped;
  // - the fit ends: saves a done file (final weights, result, generator) over it;
  // - a done file: loads its weights into the model, sets the CPU generator as the fit left it,
  //   returns its result: no callback, no training.
  // A file of another fit (tensors, planned epochs, optimizer, groups) is a tlr::Error naming it.
  // Without a path, stop_requested is not polled; a fit of 0 epochs writes no file.
  FitResult fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                Batches& val, const FitOverrides& overrides = {});

  // For the next fit() calls; the default is none.
  void set_checkpointing(FitCheckpointing c) { checkpointing_ = std::move(c); }

  // The device the model and every batch are moved to (the cell's); the CPU by default.
  void set_device(torch::Device device) { device_ = device; }

  // The precision of every forward pass (forward_pass.h), training and validation alike: bf16
  // autocasts the forward (and so the backward), while weights, optimizer state, keep-best copies
  // and checkpoints stay fp32. fp32 by default.
  void set_precision(Precision precision) { precision_ = precision; }

  const TrainingSettings& settings() const { return settings_; }
  OutputMode mode() const { return mode_; }

 private:
  TrainingSettings settings_;
  OutputMode mode_;
  int threads_;
  TrainerCallbacks callbacks_;
  torch::Device device_ = torch::kCPU;
  Precision precision_ = Precision::fp32;
  FitCheckpointing checkpointing_;
};

}  // namespace tlr
