// The Cell a strategy drives during `runner run`: one model of the plan, with the data, trainer,
// evaluator, feature cache and run store behind it. Epochs reach the run store as they end (they
// are the run's progress); everything else the services produce (metrics, confusion matrices,
// predictions, artifacts) is kept in results() until the run completes, when
// Store::complete_run() records it with the status in one transaction. A failure inside a
// service is rethrown as one line naming the component and the phase (model_failure.h).
//
// Lifetime: an ExperimentServices outlives every RunCell made from it; a RunCell lives for one
// Strategy::run() call. Single-threaded: a runner process drives one cell at a time (`--jobs N`
// runs cells in worker processes).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/config/plan.h"
#include "core/run/data_source.h"
#include "core/run/results_layout.h"
#include "core/run/run_options.h"
#include "core/store/store.h"
#include "engine/data/feature_cache.h"
#include "engine/data/input_spec.h"
#include "engine/train/evaluation.h"
#include "engine/train/output_mode.h"
#include "engine/train/settings.h"
#include "tlr/registry.h"
#include "tlr/strategy.h"

namespace tlr {

// Everything the cells of one experiment share.
struct ExperimentServices {
  ExperimentServices(const Registry& registry, Store& store, const RunOptions& options,
                     const config::Plan& plan);

  const Registry& registry;
  Store& store;
  const RunOptions& options;
  std::string experiment;
  Context context;
  ResultsLayout layout;
  DataSource data;
  FeatureCache features;
  std::map<std::string, std::string> published;  // published name -> weights file
  int workers = 1;
};

// The device a model runs on: --device, else the model's `device`, else the CPU. "auto" is
// cuda:0 when libtorch has CUDA and sees a GPU. Throws tlr::Error for cuda on a libtorch built
// without CUDA (validation reports that earlier, at the file's line).
torch::Device device_of(const nlohmann::json& model, const std::string& override_device);

class RunCell : public Cell {
 public:
  // `identity` (cell_identity.h) addresses the cell's checkpoints and published weights.
  RunCell(ExperimentServices& services, const config::ResolvedModel& model, std::string identity,
          std::int64_t run_id, std::uint64_t seed, const PreparedData& data);

  const std::string& model_name() const override { return model_.name; }
  torch::Device device() const override { return device_; }
  Precision precision() const override { return precision_; }
  bool probing() const override { return false; }
  const Params& params() const override { return strategy_params_; }
  std::shared_ptr<Backbone> backbone() override;
  torch::nn::Sequential make_head(const std::vector<std::int64_t>& in_shape) override;
  std::vector<std::int64_t> input_shape() const override;
  double learning_rate() const override { return settings_.optimizer.lr; }
  std::shared_ptr<Batches> images(Split split, bool augment) override;
  std::shared_ptr<Batches> features(Split split, Backbone& backbone) override;
  // Checkpoints every epoch to <results>/checkpoints/<identity>/fit-<k>.pt (k counts the calls),
  // and resumes from that file when it exists: a rerun of an interrupted cell replays the
  // strategy, finished fits return their saved result at once, the unfinished one continues.
  // A stop signal saves the state at the next batch and throws Interrupted(checkpointed).
  FitResult fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                Batches& val, const FitOverrides& overrides) override;
  void evaluate(Classifier& model, Batches& test) override;

  // After a successful Strategy::run(): saves the trained backbone's weights when the model
  // says `publish: NAME` and makes them available to later models. Throws when the strategy
  // built no backbone.
  void publish_if_asked();
  // The metrics, confusion matrices, predictions and artifacts of the run so far, for
  // Store::complete_run() (they reach the database only with the status 'completed').
  const RunResults& results() const { return results_; }

 private:
  const Augmenter* augmenter();
  void load_weights(const nlohmann::json& spec);
  void record_bad_images(Split split);
  // Records every sample's prediction of `e` (from tlr::evaluate over the split's batches).
  void record_predictions(Split split, const Evaluation& e);
  void add_metrics(const std::string& split,
                   const std::vector<std::pair<std::string, double>>& values);
  void add_artifact(const std::string& kind, const std::string& path);
  std::string component(const char* slot) const;  // "backbone 'vgg'"

  ExperimentServices& services_;
  const config::ResolvedModel& model_;
  std::string identity_;
  std::int64_t run_id_;
  std::uint64_t seed_;
  const PreparedData& data_;
  Params strategy_params_;
  TrainingSettings settings_;
  InputSpec input_;
  OnBadImage on_bad_image_;
  int classes_;
  OutputMode mode_;
  torch::Device device_;
  Precision precision_;
  std::shared_ptr<Backbone> backbone_;
  std::unique_ptr<Augmenter> augmenter_;
  std::string weights_id_;
  bool published_ = false;
  int fits_ = 0;  // Cell::fit calls so far
  std::set<Split> recorded_bad_;
  RunResults results_;
  // The backbone each Batches of features() came from, so that evaluate() saves a model that
  // takes images (that backbone, then the head) when the test batches are features.
  // (The weak pointer tells a live Batches from a new one at a freed one's address.)
  struct FeatureSource {
    std::weak_ptr<Batches> batches;
    const Backbone* backbone = nullptr;
  };
  std::map<const Batches*, FeatureSource> feature_sources_;
};

// The JSON `params` of a component mapping as Params ({} when absent), and its plugin name.
Params params_of(const nlohmann::json& component);
std::string plugin_of(const nlohmann::json& component);

}  // namespace tlr
