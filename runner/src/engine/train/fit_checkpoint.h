// Checkpoints of one Trainer::fit: a fit stopped at a batch boundary (a cluster's grace signal, a
// preemption, a kill) continues later from the file and gives the same epoch records, bit for
// bit, and the same final weights as a fit that never stopped, provided it runs with the same
// torch thread count, on the CPU, with the same model, groups, settings and data.
//
// Why those conditions: libtorch's CPU kernels sum in an order that depends on the thread count;
// on a CUDA device dropout draws from the CUDA generator, which is not saved. Data order and
// augmentation are pure functions of (seed, pass, index) (Batches), so the only random stream
// with state is libtorch's default CPU generator, which the checkpoint holds.
//
// The file: one 128-byte text line (read_fit_checkpoint_summary reads only it)
//   tlr-fit-checkpoint v1 done=0 epochs_recorded=3 threads=1 payload=123456
// padded with spaces to 127 bytes and ended by '\n', then `payload` bytes of a libtorch archive
// (torch::serialize::OutputArchive, a zip) holding the FitState below and the optimizer's own
// archive (torch::optim::Optimizer::save). It is written atomically: `path + ".tmp"`, fsync,
// rename over `path`, fsync of the directory, so a reader finds the previous checkpoint or the
// new one, never part of one.
//
// Size, measured by FitCheckpoint.SizeIsWeightsOptimizerAndBestSnapshot (an MLP of 0.53 M float
// parameters, everything trainable, 2.1 MB of tensors): a checkpoint during the fit is about
// 3.0× the model's tensor bytes with RMSprop (weights + square_avg + keep-best snapshot) and 4.0×
// with Adam (weights + exp_avg + exp_avg_sq + snapshot), plus 10-25 kB of archive (3.010× and
// 4.011× measured); SGD by the same count is 2× without momentum, 3× with (not measured). A done
// checkpoint is 1.004× (final weights only). Frozen parameters count once
// (weights only): the optimizer keeps no state for them and keep-best copies only what trains.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/types.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/train/lr_schedule.h"
#include "tlr/strategy.h"

namespace tlr {

// Where one Trainer::fit keeps its checkpoint, and when it should stop early.
struct FitCheckpointing {
  std::string path;                      // "" = no checkpointing (today's behaviour, unchanged)
  std::function<bool()> stop_requested;  // polled after every training batch (may be empty)
  // The end-of-epoch checkpoint is written when at least this many seconds passed since the
  // last one (0: after every epoch); always after the last epoch, at a stop request and when the
  // fit is done. A fsynced checkpoint per epoch is most of an epoch's cost for small cells; a
  // kill loses at most this long plus the epoch in progress.
  double interval_seconds = 0;
};

// Thrown by Trainer::fit after it saved the state at a batch boundary because stop_requested()
// said so. A later fit() with the same path continues from that batch.
struct CheckpointedStop : std::exception {
  const char* what() const noexcept override;
};

// What a checkpoint file holds, without loading its tensors (for the caller's bookkeeping).
struct FitCheckpointSummary {
  bool done = false;        // the fit finished; the file holds its final weights and result
  int epochs_recorded = 0;  // epoch records already emitted through on_epoch (the rows the caller
                            // kept); a resumed fit emits the records of the later epochs only
  int threads = 0;          // torch threads of the process that wrote it
};

// Reads the header line only. Throws tlr::Error, one line naming the path, for a missing file, a
// file that is not a tlr checkpoint, another format version or a truncated file:
// "ckpt/fit1.pt: error: not a tlr fit checkpoint; delete the file to start the fit over".
FitCheckpointSummary read_fit_checkpoint_summary(const std::string& path);

// ---- Used by Trainer::fit ----

// Tensors by name, in the model's order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Every parameter and buffer of `model` (live tensors, not copies).
NamedTensors model_tensors(torch::nn::Module& model);

// Everything Trainer::fit carries from one batch to the next.
struct FitState {
  FitCheckpointSummary summary;

  // Checked on resume: a checkpoint of another fit is refused.
  int epochs = 0;         // planned epochs
  std::string optimizer;  // OptimizerSettings::name

  // Where the fit is. Not mid_epoch: `epoch` epochs are complete, and `finished` says no epoch
  // follows (early stopping ended the loop, or it was the last). mid_epoch: epoch `epoch` is in
  // progress and the counters below say how far.
  int epoch = 0;
  bool finished = false;
  int pass = 0;  // train passes started (Batches::start_epoch numbers)
  bool mid_epoch = false;
  std::int64_t steps = 0;          // training steps done in this epoch
  std::int64_t steps_in_pass = 0;  // of them, in the current pass
  std::int64_t taken_in_pass = 0;  // batches taken from the current pass (drop_last skips count)
  double loss_sum = 0;             // running totals of the epoch's training batches
  std::int64_t correct = 0;
  std::int64_t samples = 0;
  double train_seconds = 0;  // training time of the epoch before the stop (for the record only)

  LrScheduleState schedule;
  double stop_best = 0;  // early stopping: best monitored value and epochs since
  int stop_wait = 0;
  double best_acc = -1;     // keep-best: best validation accuracy and its weights
  NamedTensors best;        // trainable parameters and buffers; empty before the first epoch ends
  FitResult result;         // so far
  torch::Tensor generator;  // libtorch's default CPU generator state
  NamedTensors weights;     // model_tensors(model)
};

// Writes `state` and the optimizer's state (none when `optimizer` is null: a done checkpoint)
// atomically to `path`, creating its parent directories. Throws tlr::Error("<path>: error: cannot
// write checkpoint: ...") when the file system refuses.
void save_fit_checkpoint(const std::string& path, const FitState& state,
                         const torch::optim::Optimizer* optimizer);

struct LoadedFitCheckpoint {
  FitState state;                            // tensors on the device given to load
  torch::serialize::InputArchive optimizer;  // empty in a done checkpoint
};

// Throws tlr::Error (one line naming the path) for what read_fit_checkpoint_summary refuses and
// for an archive that does not read.
LoadedFitCheckpoint load_fit_checkpoint(const std::string& path, torch::Device device);

// Throws tlr::Error("<path>: error: checkpoint does not match the model: ...; delete the file to
// start the fit over") naming the first tensor of `live` that `saved` lacks or holds with another
// shape, else the first tensor of `saved` that `live` lacks.
void check_same_tensors(const std::string& path, const NamedTensors& live,
                        const NamedTensors& saved);

// check_same_tensors, then copies each saved tensor into the live one of the same name.
void copy_named(const std::string& path, const NamedTensors& live, const NamedTensors& saved);

// Restores the optimizer's state from a checkpoint's archive; a mismatch (another number of
// groups or parameters) is a tlr::Error naming the path.
void load_optimizer(const std::string& path, torch::optim::Optimizer& optimizer,
                    torch::serialize::InputArchive& archive);

// libtorch's default CPU generator (dropout, and any torch::rand* without a generator).
torch::Tensor cpu_generator_state();
void set_cpu_generator_state(const torch::Tensor& state);

}  // namespace tlr
