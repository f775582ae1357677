#include "core/run/probe.h"

#include <torch/torch.h>

#include <optional>
#include <regex>
#include <set>
#include <utility>

#include "core/run/model_failure.h"
#include "core/run/precision_choice.h"
#include "core/run/run_cell.h"
#include "engine/data/input_spec.h"
#include "engine/train/forward_pass.h"
#include "engine/train/output_mode.h"
#include "engine/train/settings.h"
#include "engine/train/trainer.h"
#include "tlr/error.h"

namespace tlr {
namespace {

using nlohmann::json;

constexpr std::int64_t kProbeBatch = 2;

// One fixed batch per pass.
class OneBatch : public Batches {
 public:
  OneBatch(torch::Tensor inputs, torch::Tensor labels)
      : inputs_(std::move(inputs)), labels_(std::move(labels)) {}
  std::size_t samples() const override { return static_cast<std::size_t>(labels_.size(0)); }
  void start_epoch(int) override { given_ = false; }
  bool next(torch::Tensor& inputs, torch::Tensor& labels) override {
    if (given_) return false;
    given_ = true;
    inputs = inputs_;
    labels = labels_;
    return true;
  }

 private:
  torch::Tensor inputs_, labels_;
  bool given_ = false;
};

// The number of training images when the file states it (integer per-class count and the class
// list); nullopt otherwise (fractions, or classes known only to the dataset).
std::optional<std::size_t> stated_train_images(const json& model) {
  const json::json_pointer classes("/data/split/classes");
  const json::json_pointer per_class("/data/split/per_class/train");
  if (!model.contains(classes) || !model.contains(per_class)) return std::nullopt;
  const json& count = model[per_class];
  if (!count.is_number_integer() || !model[classes].is_array()) return std::nullopt;
  return static_cast<std::size_t>(count.get<std::int64_t>()) * model[classes].size();
}

// The Cell of the probe. pointer() is where a failure lands: the component being exercised.
class ProbeCell : public Cell {
 public:
  ProbeCell(const config::ResolvedModel& model, const Registry& registry, const Context& context,
            torch::Device device)
      : model_(model),
        registry_(registry),
        context_(context),
        strategy_params_(params_of(model.json["strategy"])),
        settings_(TrainingSettings::parse(
            Params::from_json(model.json.value("training", json::object()).dump()))),
        input_(InputSpec::from_params(
            Params::from_json(model.json["data"].value("input", json::object()).dump()))),
        device_(device),
        precision_(precision_of(model.json, device)) {
    const json::json_pointer classes("/data/split/classes");
    classes_ = model.json.contains(classes) && model.json[classes].is_array()
                   ? static_cast<int>(model.json[classes].size())
                   : 2;
    mode_ = output_mode_for(classes_, model.json.value("output", std::string("auto")));
  }

  const std::string& model_name() const override { return model_.name; }
  torch::Device device() const override { return device_; }
  Precision precision() const override { return precision_; }
  bool probing() const override { return true; }
  const Params& params() const override { return strategy_params_; }

  std::shared_ptr<Backbone> backbone() override {
    if (backbone_) return backbone_;
    at("/backbone");
    const json& spec = model_.json["backbone"];
    backbone_ = build("backbone", "/backbone", [&] {
      auto built = registry_.make_backbone(plugin_of(spec), params_of(spec), context_);
      if (!built) throw Error("backbone '" + plugin_of(spec) + "' built nothing");
      built->to(device_);
      return built;
    });
    return backbone_;
  }

  torch::nn::Sequential make_head(const std::vector<std::int64_t>& in_shape) override {
    at("/head");
    const json& spec = model_.json["head"];
    return build("head", "/head", [&] {
      auto head = registry_.make_head(plugin_of(spec), params_of(spec), context_);
      torch::nn::Sequential built = head->build(in_shape, output_units(mode_, classes_));
      built->to(device_);
      return built;
    });
  }

  std::vector<std::int64_t> input_shape() const override {
    return {input_.channels, input_.height, input_.width};
  }
  double learning_rate() const override { return settings_.optimizer.lr; }

  std::shared_ptr<Batches> images(Split split, bool augment) override {
    const json& spec = model_.json.value("augmenter", json());
    if (augment && split == Split::train && spec.is_object()) {
      at("/augmenter");
      build("augmenter", "/augmenter",
            [&] { return registry_.make_augmenter(plugin_of(spec), params_of(spec), context_); });
    }
    auto shape = input_shape();
    shape.insert(shape.begin(), kProbeBatch);
    return std::make_shared<OneBatch>(torch::zeros(shape, torch::TensorOptions(device_)), labels());
  }

  std::shared_ptr<Batches> features(Split split, Backbone& backbone) override {
    at("/backbone");
    auto images = this->images(split, false);
    torch::Tensor x, y;
    images->start_epoch(0);
    images->next(x, y);
    torch::Tensor f = in_phase(component("backbone"), "feature extraction", [&] {
      torch::NoGradGuard no_grad;
      const bool was_training = backbone.is_training();
      backbone.eval();
      torch::Tensor out;
      {
        AutocastScope autocast(precision_, device_);
        out = backbone.forward(x);
      }
      backbone.train(was_training);
      return out.to(torch::kFloat);
    });
    return std::make_shared<OneBatch>(f, y);
  }

  FitResult fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                Batches& val, const FitOverrides& overrides) override {
    // Component by component first, so that a shape problem names the part that has it.
    torch::Tensor x, y;
    train.start_epoch(1);
    if (!train.next(x, y)) throw Error("the probe's train batches are empty");
    {
      torch::NoGradGuard no_grad;
      AutocastScope autocast(precision_, device_);
      model.train();
      if (model.backbone) {
        at("/backbone");
        x = in_phase(component("backbone"), "the forward pass",
                     [&] { return model.backbone->forward(x); });
      }
      at("/head");
      in_phase(component("head"), "the forward pass", [&] { return model.head->forward(x); });
    }
    if (const auto images = stated_train_images(model_.json)) {
      at("/training/batch_size");
      check_last_batch(model, settings_, *images);
    }
    at("/training");
    TrainingSettings one = settings_;
    one.epochs = 1;
    one.batch_size = kProbeBatch;
    one.steps_per_epoch = 0;
    one.drop_last = false;
    one.early_stopping.patience = 0;
    Trainer trainer(one, mode_);
    trainer.set_device(device_);
    trainer.set_precision(precision_);
    FitOverrides once = overrides;
    once.epochs = overrides.epochs == 0 ? 0 : 1;
    return in_phase(component("backbone") + " + " + component("head"), "a training step",
                    [&] { return trainer.fit(model, groups, train, val, once); });
  }

  void evaluate(Classifier& model, Batches& test) override {
    at("");
    in_phase(component("backbone") + " + " + component("head"), "evaluation", [&] {
      torch::NoGradGuard no_grad;
      model.eval();
      torch::Tensor x, y;
      test.start_epoch(0);
      while (test.next(x, y)) forward_logits(model, x, precision_, device_);
    });
  }

  const std::string& pointer() const { return pointer_; }
  // The params of the component whose factory threw a ParamError ("/augmenter/params"), or "".
  const std::string& component_params() const { return component_params_; }

 private:
  void at(const std::string& pointer) { pointer_ = pointer; }
  // Builds a component with `make`; a ParamError it throws belongs to the component's params.
  template <class Make>
  auto build(const char* slot, const char* pointer, Make&& make) -> decltype(make()) {
    try {
      return in_phase(component(slot), "building", std::forward<Make>(make));
    } catch (const ParamError&) {
      component_params_ = std::string(pointer) + "/params";
      throw;
    }
  }
  std::string component(const char* slot) const {
    return std::string(slot) + " '" + plugin_of(model_.json.value(slot, json())) + "'";
  }
  torch::Tensor labels() const {
    return torch::zeros({kProbeBatch}, torch::TensorOptions(device_).dtype(torch::kLong));
  }

  const config::ResolvedModel& model_;
  const Registry& registry_;
  const Context& context_;
  Params strategy_params_;
  TrainingSettings settings_;
  InputSpec input_;
  torch::Device device_;
  Precision precision_;
  int classes_ = 2;
  OutputMode mode_ = OutputMode::sigmoid;
  std::shared_ptr<Backbone> backbone_;
  std::string pointer_ = "/strategy";  // until a service is called: the strategy's own code
  std::string component_params_;
};

// Saves libtorch's default CPU generator and puts it back: probing draws random initial weights.
class KeepGlobalRng {
 public:
  KeepGlobalRng() : state_(at::detail::getDefaultCPUGenerator().get_state()) {}
  ~KeepGlobalRng() {
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a handle to the global one
    generator.set_state(state_);
  }
  KeepGlobalRng(const KeepGlobalRng&) = delete;
  KeepGlobalRng& operator=(const KeepGlobalRng&) = delete;

 private:
  at::Tensor state_;
};

// A plugin's own "<name>: error: <problem>" reads "<name>: <problem>" inside a diagnostic, which
// already says error once.
std::string without_inner_severity(const std::string& message) {
  static const std::regex inner("^([A-Za-z0-9_. ]+): error: (.*)$");
  std::smatch match;
  return std::regex_match(message, match, inner) ? match[1].str() + ": " + match[2].str() : message;
}

void probe_model(const config::ResolvedModel& model, const Registry& registry,
                 const Context& context, const std::string& device_override,
                 std::vector<config::Diagnostic>* out) {
  const std::string who = "model '" + model.name + "': ";
  torch::Device device = torch::kCPU;
  try {
    device = device_of(model.json, device_override);
  } catch (const Error& e) {
    out->push_back(config::diagnostic_at(model, "/device", who + e.what()));
    return;
  }
  std::optional<ProbeCell> cell;
  try {
    cell.emplace(model, registry, context, device);
  } catch (const std::exception& e) {
    out->push_back(config::diagnostic_at(model, "/training", who + first_line(e.what())));
    return;
  }
  const std::string strategy = plugin_of(model.json["strategy"]);
  try {
    torch::manual_seed(model.json.value("seed", 42ULL));
    auto plugin = registry.make_strategy(strategy, params_of(model.json["strategy"]), context);
    in_phase("strategy '" + strategy + "'", "its run", [&] { plugin->run(*cell); });
  } catch (const ParamError& e) {
    // A parameter of a component the cell built (an augmenter's, a backbone's), else of the
    // strategy.
    const std::string at = cell->component_params().empty()
                               ? "/strategy/params/" + e.param()
                               : cell->component_params() + "/" + e.param();
    out->push_back(
        config::diagnostic_at(model, at, who + without_inner_severity(first_line(e.what()))));
  } catch (const std::exception& e) {
    out->push_back(config::diagnostic_at(model, cell->pointer(),
                                         who + without_inner_severity(first_line(e.what()))));
  }
}

}  // namespace

std::vector<config::Diagnostic> probe_models(const config::Plan& plan, const Registry& registry,
                                             const Context& context, const ProbeOptions& options) {
  KeepGlobalRng keep;
  std::vector<config::Diagnostic> out;
  std::set<std::string> probed;  // models: their replicates differ only in seeds and samples
  for (std::size_t i = 0; i < plan.models.size(); ++i) {
    if (!options.models.empty() &&
        std::find(options.models.begin(), options.models.end(), i) == options.models.end()) {
      continue;
    }
    if (!probed.insert(plan.models[i].model).second) continue;
    probe_model(plan.models[i], registry, context, options.device, &out);
  }
  return out;
}

}  // namespace tlr
