// A strategy plugin decides what trains and how (freeze, cache features, unfreeze from a block,
// learning rate per group), and drives the runner's trainer through a Cell.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tlr/abi.h"
#include "tlr/backbone.h"
#include "tlr/params.h"
#include "tlr/precision.h"

namespace tlr {

enum class Split { train, val, test };
TLR_API const char* split_name(Split split);

// Batches of one split: images (N×C×H×W float) or cached features, with integer labels (N, int64),
// on the cell's device (Cell::device()). Not thread-safe: one pass at a time, from one thread.
class TLR_API Batches {
 public:
  virtual ~Batches();
  virtual std::size_t samples() const = 0;
  // Starts a pass; the order (shuffled for training) and the augmentation depend on (seed, epoch).
  virtual void start_epoch(int epoch) = 0;
  // The next batch; false at the end of the pass.
  virtual bool next(torch::Tensor& inputs, torch::Tensor& labels) = 0;
};

// Backbone (absent when training on cached features) followed by a head.
class TLR_API Classifier : public torch::nn::Module {
 public:
  Classifier(std::shared_ptr<Backbone> backbone, torch::nn::Sequential head);
  ~Classifier() override;
  torch::Tensor forward(torch::Tensor inputs);
  // Keeps the BatchNorm layers of frozen blocks in inference mode when `freeze_batchnorm` is set
  // (the default): frozen statistics, as Keras users expect after trainable=False.
  void train(bool on = true) override;

  std::shared_ptr<Backbone> backbone;  // may be null
  torch::nn::Sequential head;
  bool freeze_batchnorm = true;
};

struct ParamGroup {
  std::string name;  // "head", "block4_conv1…block5_pool", recorded with the run
  std::vector<torch::Tensor> parameters;
  double learning_rate = 0;
};

// What the trainer did.
struct FitResult {
  int epochs = 0;      // epochs run
  int best_epoch = 0;  // 1-based epoch whose weights were kept
  double best_val_accuracy = 0;
  std::string stopped_because;  // "max epochs", "early stopping", ...
};

// Overrides a strategy may apply to the model's training block for one fit() call.
struct FitOverrides {
  int epochs = -1;    // -1: the YAML value
  std::string phase;  // recorded with each epoch row ("warmup", "fine-tune"); "" for one phase
};

// One model of the experiment, fully resolved, with the runner's services. Owned by the runner and
// valid for the duration of Strategy::run(); the tensors and modules it hands out are the
// strategy's to keep.
//
// Before anything trains, `runner validate` and `runner run` call Strategy::run() once on a probe
// cell (probing() is true): the backbone has its random initial weights (no weight file is read),
// every split is one batch of two zero images, fit() runs one training step and one validation
// pass, evaluate() one forward pass, and nothing is recorded or written. This catches unknown block
// names, shape and channel mismatches and libtorch errors of the model before any data is touched.
// A strategy needs no code for it; one with side effects of its own (files, network) skips them
// when probing() is true.
class TLR_API Cell {
 public:
  virtual ~Cell();
  virtual const std::string& model_name() const = 0;
  // The device this cell's tensors live on (the YAML's `device`, CPU by default): batches arrive
  // there, fit() and evaluate() move the model there. A strategy creating tensors of its own
  // creates them on this device.
  virtual torch::Device device() const = 0;
  // The precision this cell computes in (the model's `training.precision`, resolved: `auto` is
  // bf16 where the CPU has native bf16, fp32 elsewhere). fit(), evaluate() and features() apply
  // it themselves; a strategy running a forward pass of its own wraps it in an
  // AutocastScope(precision(), device()).
  virtual Precision precision() const = 0;
  // True on the validation probe (see above).
  virtual bool probing() const = 0;
  // The strategy's own parameters (schema defaults filled in).
  virtual const Params& params() const = 0;
  // The model's backbone, built and with the YAML's weights loaded. One instance per cell.
  virtual std::shared_ptr<Backbone> backbone() = 0;
  // A fresh head for features of `in_shape`; its output size follows from the class count.
  virtual torch::nn::Sequential make_head(const std::vector<std::int64_t>& in_shape) = 0;
  // Input images' shape, C×H×W.
  virtual std::vector<std::int64_t> input_shape() const = 0;
  // The training block's base learning rate.
  virtual double learning_rate() const = 0;

  // Images of a split; `augment` applies the model's augmenter (train split only).
  virtual std::shared_ptr<Batches> images(Split split, bool augment) = 0;
  // Features of a split computed by `backbone` in inference mode, read from the content-addressed
  // feature cache when present, written to it otherwise.
  virtual std::shared_ptr<Batches> features(Split split, Backbone& backbone) = 0;

  // Trains `model` with the YAML's optimizer, schedule, early stopping and keep-best checkpoint;
  // every epoch is recorded. On return the model holds its best-validation weights.
  virtual FitResult fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                        Batches& val, const FitOverrides& overrides = {}) = 0;
  // Test metrics, per-class precision/recall/F1 and the confusion matrix, recorded with the run;
  // also saves the model and its class mapping as the run's artifacts.
  virtual void evaluate(Classifier& model, Batches& test) = 0;
  // Publishing weights for later models is the plan's job, not a strategy's: a model with
  // `publish: NAME` has its trained backbone (the one backbone() returned) published by the runner
  // after run() succeeds.
};

class TLR_API Strategy {
 public:
  virtual ~Strategy();
  // Runs the cell start to finish; throws to fail the run (the message is recorded). Throw
  // tlr::ParamError to name the parameter at fault: it is reported at its line:column.
  virtual void run(Cell& cell) = 0;
};

}  // namespace tlr
