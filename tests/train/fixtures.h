// Test doubles for the training engine and the strategies: batches over in-memory tensors, a
// two-stage backbone and a Cell whose fit/evaluate run the real Trainer and evaluate().
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "engine/train/evaluation.h"
#include "engine/train/output_mode.h"
#include "engine/train/settings.h"
#include "engine/train/trainer.h"
#include "tlr/sdk.h"

namespace tlr::testing {

// Batches of fixed tensors, shuffled per epoch (seeded) when asked.
class TensorBatches : public Batches {
 public:
  TensorBatches(torch::Tensor inputs, torch::Tensor labels, std::int64_t batch_size,
                bool shuffle = false)
      : inputs_(std::move(inputs)),
        labels_(std::move(labels)),
        batch_size_(batch_size),
        shuffle_(shuffle) {}

  std::size_t samples() const override { return static_cast<std::size_t>(inputs_.size(0)); }

  void start_epoch(int epoch) override {
    epochs_started.push_back(epoch);
    epoch_ = epoch;
    order_.resize(samples());
    std::iota(order_.begin(), order_.end(), 0);
    if (shuffle_) std::shuffle(order_.begin(), order_.end(), std::mt19937(1234 + epoch));
    position_ = 0;
  }

  bool next(torch::Tensor& inputs, torch::Tensor& labels) override {
    if (position_ >= order_.size()) return false;
    const std::size_t end = std::min(order_.size(), position_ + batch_size_);
    torch::Tensor index = torch::tensor(
        std::vector<std::int64_t>(order_.begin() + position_, order_.begin() + end), torch::kLong);
    position_ = end;
    inputs = inputs_.index_select(0, index);
    labels = labels_.index_select(0, index);
    if (poison_from_epoch > 0 && epoch_ >= poison_from_epoch) {
      inputs = inputs * std::numeric_limits<float>::quiet_NaN();
    }
    return true;
  }

  std::vector<int> epochs_started;
  int poison_from_epoch = 0;  // inputs become NaN from this pass on (0: never)

 private:
  torch::Tensor inputs_, labels_;
  std::size_t batch_size_;
  bool shuffle_;
  std::vector<std::int64_t> order_;
  std::size_t position_ = 0;
  int epoch_ = 0;
};

// conv → BatchNorm → ReLU (→ pool): one named block of the test backbone.
struct ConvStageImpl : torch::nn::Module {
  ConvStageImpl(std::int64_t in, std::int64_t out, bool pool)
      : conv(register_module("conv",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)))),
        bn(register_module("bn", torch::nn::BatchNorm2d(out))),
        pool_(pool) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(bn->forward(conv->forward(x)));
    return pool_ ? torch::max_pool2d(x, 2) : x;
  }
  torch::nn::Conv2d conv;
  torch::nn::BatchNorm2d bn;
  bool pool_;
};
TORCH_MODULE(ConvStage);

// 3×8×8 images → block1_conv1 (4×4×4) → block2_conv1 (8×4×4). `splittable` false: it refuses
// to run part of its forward pass, as a TorchScript backbone does.
class TinyBackbone : public SequentialBackbone {
 public:
  explicit TinyBackbone(bool splittable = true) : splittable_(splittable) {
    auto s1 = register_module("block1", ConvStage(3, 4, true));
    add_stage("block1_conv1", torch::nn::AnyModule(s1), "block1.");
    auto s2 = register_module("block2", ConvStage(4, 8, false));
    add_stage("block2_conv1", torch::nn::AnyModule(s2), "block2.");
  }
  bool can_forward_blocks() const override { return splittable_; }

 private:
  bool splittable_;
};

// Copies of every named parameter and buffer of a module.
inline std::map<std::string, torch::Tensor> state_of(torch::nn::Module& module) {
  std::map<std::string, torch::Tensor> state;
  for (const auto& p : module.named_parameters()) state[p.key()] = p.value().detach().clone();
  for (const auto& b : module.named_buffers()) state[b.key()] = b.value().detach().clone();
  return state;
}

// Names of the tensors of `after` that differ from `before`.
inline std::vector<std::string> changed(const std::map<std::string, torch::Tensor>& before,
                                        const std::map<std::string, torch::Tensor>& after) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : before) {
    if (!torch::equal(tensor, after.at(name))) names.push_back(name);
  }
  return names;
}

struct FitCall {
  std::vector<std::string> group_names;
  std::vector<double> group_lrs;
  std::vector<std::size_t> group_sizes;
  FitOverrides overrides;
  FitResult result;
  std::map<std::string, torch::Tensor> backbone_after;  // empty without a backbone
  bool had_backbone = false;
  std::vector<std::string> fitted_blocks;  // the blocks of the model fit() trained
};

// A Cell over random 3×8×8 images; the label is whether channel 0 is brighter than channel 1.
class FakeCell : public Cell {
 public:
  explicit FakeCell(Params params, int classes = 2, int epochs = 2, bool splittable = true)
      : params_(std::move(params)), classes_(classes) {
    settings_.epochs = epochs;
    settings_.batch_size = 16;
    settings_.optimizer.name = "rmsprop";
    settings_.optimizer.lr = 1e-2;
    mode_ = output_mode_for(classes, "auto");
    torch::manual_seed(7);
    backbone_ = std::make_shared<TinyBackbone>(splittable);
    for (auto* data : {&train_, &val_, &test_}) {
      const std::int64_t n = data == &train_ ? 64 : 32;
      data->x = torch::randn({n, 3, 8, 8});
      torch::Tensor score = data->x.select(1, 0).mean({1, 2}) - data->x.select(1, 1).mean({1, 2});
      data->y = classes == 2 ? (score > 0).to(torch::kLong)
                             : torch::bucketize(score, torch::tensor({-0.1f, 0.1f}));
    }
  }

  const std::string& model_name() const override { return name_; }
  torch::Device device() const override { return torch::kCPU; }
  Precision precision() const override { return Precision::fp32; }
  bool probing() const override { return false; }
  const Params& params() const override { return params_; }
  std::shared_ptr<Backbone> backbone() override {
    ++backbone_calls;
    return backbone_;
  }
  torch::nn::Sequential make_head(const std::vector<std::int64_t>& in_shape) override {
    head_in_shape = in_shape;
    const std::int64_t in = std::accumulate(in_shape.begin(), in_shape.end(), std::int64_t{1},
                                            std::multiplies<std::int64_t>());
    return torch::nn::Sequential(torch::nn::Flatten(),
                                 torch::nn::Linear(in, output_units(mode_, classes_)));
  }
  std::vector<std::int64_t> input_shape() const override { return {3, 8, 8}; }
  double learning_rate() const override { return settings_.optimizer.lr; }

  std::shared_ptr<Batches> images(Split split, bool augment) override {
    image_calls.emplace_back(split, augment);
    const Data& d = data(split);
    return std::make_shared<TensorBatches>(d.x, d.y, settings_.batch_size, split == Split::train);
  }
  std::shared_ptr<Batches> features(Split split, Backbone& backbone) override {
    feature_splits.push_back(split);
    const Data& d = data(split);
    torch::NoGradGuard no_grad;
    const bool was_training = backbone.is_training();
    backbone.eval();
    torch::Tensor f = backbone.forward(d.x);
    backbone.train(was_training);
    return std::make_shared<TensorBatches>(f, d.y, settings_.batch_size, split == Split::train);
  }
  FitResult fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                Batches& val, const FitOverrides& overrides) override {
    FitCall call;
    for (const auto& g : groups) {
      call.group_names.push_back(g.name);
      call.group_lrs.push_back(g.learning_rate);
      call.group_sizes.push_back(g.parameters.size());
    }
    call.overrides = overrides;
    Trainer trainer(
        settings_, mode_, 2,
        TrainerCallbacks{[this](const EpochRecord& r) { epochs.push_back(r); }, nullptr});
    call.result = trainer.fit(model, groups, train, val, overrides);
    call.had_backbone = model.backbone != nullptr;
    if (model.backbone) {
      call.fitted_blocks = model.backbone->blocks();
      call.backbone_after = state_of(*backbone_);  // by the backbone's own tensor names
    }
    fit_calls.push_back(call);
    return call.result;
  }
  void evaluate(Classifier& model, Batches& test) override {
    evaluation = tlr::evaluate(model, test, mode_, classes_);
    ++evaluations;
  }

  TrainingSettings& settings() { return settings_; }
  const std::shared_ptr<Backbone>& the_backbone() const { return backbone_; }

  // What the strategy asked for.
  int backbone_calls = 0;
  std::vector<std::pair<Split, bool>> image_calls;
  std::vector<Split> feature_splits;
  std::vector<std::int64_t> head_in_shape;
  std::vector<FitCall> fit_calls;
  std::vector<EpochRecord> epochs;
  Evaluation evaluation;
  int evaluations = 0;

 private:
  struct Data {
    torch::Tensor x, y;
  };
  const Data& data(Split split) const {
    return split == Split::train ? train_ : split == Split::val ? val_ : test_;
  }

  std::string name_ = "fake";
  Params params_;
  int classes_;
  OutputMode mode_;
  TrainingSettings settings_;
  std::shared_ptr<Backbone> backbone_;
  Data train_, val_, test_;
};

}  // namespace tlr::testing
