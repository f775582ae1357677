#include "core/run/experiment_run.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "core/run/data_source.h"
#include "core/run/feature_cache.h"
#include "core/run/tensor_batches.h"
#include "core/store/store.h"
#include "engine/train/evaluation.h"
#include "engine/train/model_export.h"
#include "engine/train/output_mode.h"
#include "engine/train/parameters.h"
#include "engine/train/progress.h"
#include "engine/train/settings.h"
#include "engine/train/trainer.h"
#include "engine/util/cpu_allocator.h"
#include "engine/util/sha256.h"
#include "engine/weights/state_dict.h"
#include "tlr/error.h"

namespace tlr {

std::atomic<bool>& interrupt_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Thrown from the trainer's callbacks when the user pressed Ctrl-C.
struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted by the user") {}
};

std::string hash_text(const std::string& text) { return sha256_hex(text.data(), text.size()); }

Params params_of(const json& component) {
  return Params::from_json(component.contains("params") ? component["params"].dump() : "{}");
}

std::string plugin_of(const json& component) {
  return component.is_object() && component.contains("plugin")
             ? component["plugin"].get<std::string>()
             : std::string();
}

// Everything the cells of one experiment share.
struct Shared {
  const Registry& registry;
  Store& store;
  const RunOptions& options;
  Context context;
  std::string experiment_dir;  // results/<experiment>
  std::string cache_dir;
  DataSource data;
  FeatureCache features;
  std::map<std::string, std::string> published;  // name -> weights file
  int workers = 1;
};

class RunCell : public Cell {
 public:
  RunCell(Shared& shared, const config::ResolvedModel& model, std::int64_t run_id,
          std::uint64_t seed, const PreparedData& data)
      : shared_(shared),
        model_(model),
        run_id_(run_id),
        seed_(seed),
        data_(data),
        strategy_params_(params_of(model.json["strategy"])),
        settings_(TrainingSettings::parse(
            Params::from_json(model.json.value("training", json::object()).dump()))),
        input_(InputSpec::from_params(
            Params::from_json(model.json["data"].value("input", json::object()).dump()))),
        on_bad_image_(on_bad_image_from(model.json["data"].value("on_bad_image", "skip"))),
        classes_(static_cast<int>(data.split.classes.size())),
        mode_(output_mode_for(classes_, model.json.value("output", std::string("auto")))) {}

  const std::string& model_name() const override { return model_.name; }
  torch::Device device() const override { return torch::kCPU; }
  bool probing() const override { return false; }
  const Params& params() const override { return strategy_params_; }

  std::shared_ptr<Backbone> backbone() override {
    if (backbone_) return backbone_;
    const json& spec = model_.json["backbone"];
    torch::manual_seed(seed_);
    backbone_ = shared_.registry.make_backbone(plugin_of(spec), params_of(spec), shared_.context);
    if (!backbone_) throw Error("backbone '" + plugin_of(spec) + "' built nothing");
    load_weights(spec);
    return backbone_;
  }

  torch::nn::Sequential make_head(const std::vector<std::int64_t>& in_shape) override {
    const json& spec = model_.json["head"];
    auto head = shared_.registry.make_head(plugin_of(spec), params_of(spec), shared_.context);
    torch::manual_seed(seed_ + 1);
    return head->build(in_shape, output_units(mode_, classes_));
  }

  std::vector<std::int64_t> input_shape() const override {
    return {input_.channels, input_.height, input_.width};
  }
  double learning_rate() const override { return settings_.optimizer.lr; }

  std::shared_ptr<Batches> images(Split split, bool augment) override {
    BatchRequest request;
    request.split = split;
    request.augmenter = augment && split == Split::train ? augmenter() : nullptr;
    request.batch_size = static_cast<std::size_t>(settings_.batch_size);
    request.shuffle = split == Split::train;
    request.seed = seed_;
    request.steps_per_epoch =
        split == Split::train ? static_cast<std::size_t>(settings_.steps_per_epoch) : 0;
    request.workers = shared_.workers;
    request.on_bad_image = on_bad_image_;
    auto batches = shared_.data.batches(data_, input_, request);
    record_bad_images(split);
    return batches;
  }

  std::shared_ptr<Batches> features(Split split, Backbone& backbone) override {
    const json& spec = model_.json["backbone"];
    auto decoded = shared_.data.images(data_, split, input_, shared_.workers, on_bad_image_);
    const std::string key =
        hash_text(image_key(*decoded, input_) + "|" + plugin_of(spec) + "|" +
                  params_of(spec).json() + "|" + weights_id_ + "|" + backbone.blocks().back());
    FeatureSet set = shared_.features.get(key, [&] {
      BatchRequest request;
      request.split = split;
      request.batch_size = 64;
      request.workers = shared_.workers;
      request.on_bad_image = on_bad_image_;
      auto batches = shared_.data.batches(data_, input_, request);
      torch::NoGradGuard no_grad;
      const bool was_training = backbone.is_training();
      backbone.eval();
      std::vector<torch::Tensor> outputs, labels;
      batches->start_epoch(0);
      torch::Tensor x, y;
      while (batches->next(x, y)) {
        if (interrupt_requested()) throw Interrupted();
        outputs.push_back(backbone.forward(x));
        labels.push_back(y);
      }
      backbone.train(was_training);
      if (outputs.empty()) throw Error(std::string("the ") + split_name(split) + " split is empty");
      return FeatureSet{torch::cat(outputs), torch::cat(labels), false};
    });
    if (!shared_.options.quiet) {
      std::cerr << model_.name << ": " << split_name(split) << " features "
                << (set.from_cache ? "read from cache" : "computed and cached") << " ("
                << set.features.size(0) << " samples)\n";
    }
    record_bad_images(split);
    return std::make_shared<TensorBatches>(set.features, set.labels, settings_.batch_size,
                                           split == Split::train, seed_);
  }

  FitResult fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                Batches& val, const FitOverrides& overrides) override {
    ProgressPrinter printer(std::cerr, progress_style_for_stderr(shared_.options.quiet),
                            model_.name);
    TrainerCallbacks callbacks;
    callbacks.on_epoch = [&](const EpochRecord& r) {
      EpochRow row;
      row.phase = r.phase.empty() ? "train" : r.phase;
      row.epoch = r.epoch;
      row.train_loss = r.train_loss;
      row.train_acc = r.train_acc;
      row.val_loss = r.val_loss;
      row.val_acc = r.val_acc;
      row.lr = r.lr;
      row.seconds = r.seconds;
      row.images_per_second = r.images_per_second;
      shared_.store.record_epoch(run_id_, row);
    };
    callbacks.on_progress = [](const TrainProgress&) {
      if (interrupt_requested()) throw Interrupted();
    };
    Trainer trainer(settings_, mode_, shared_.options.threads, printer.attach(callbacks));
    FitResult result = trainer.fit(model, groups, train, val, overrides);
    const std::string phase = overrides.phase.empty() ? "" : overrides.phase + "/";
    shared_.store.record_metrics(run_id_, "val",
                                 {{phase + "best_accuracy", result.best_val_accuracy},
                                  {phase + "best_epoch", result.best_epoch},
                                  {phase + "epochs", result.epochs}});
    return result;
  }

  void evaluate(Classifier& model, Batches& test) override {
    Evaluation e = tlr::evaluate(model, test, mode_, classes_);
    std::vector<std::pair<std::string, double>> values{{"accuracy", e.accuracy},
                                                       {"precision", e.precision},
                                                       {"recall", e.recall},
                                                       {"f1", e.f1},
                                                       {"loss", e.loss},
                                                       {"samples", double(e.samples)},
                                                       {"macro_precision", e.macro_precision},
                                                       {"macro_recall", e.macro_recall},
                                                       {"macro_f1", e.macro_f1}};
    for (std::size_t c = 0; c < e.per_class.size(); ++c) {
      const std::string& name = data_.split.classes[c];
      values.emplace_back("precision/" + name, e.per_class[c].precision);
      values.emplace_back("recall/" + name, e.per_class[c].recall);
      values.emplace_back("f1/" + name, e.per_class[c].f1);
      values.emplace_back("support/" + name, double(e.per_class[c].support));
    }
    shared_.store.record_metrics(run_id_, "test", values);
    shared_.store.record_confusion(run_id_, "test", data_.split.classes, e.confusion);
    shared_.store.record_metrics(run_id_, "model",
                                 {{"trainable_params", double(count_trainable(model))},
                                  {"total_params", double(count_parameters(model))}});

    ModelDescription description;
    description.model_name = model_.name;
    description.config_json = model_.json.dump();
    description.classes = data_.split.classes;
    description.mode = mode_;
    description.input_shape = input_shape();
    const std::string dir = (fs::path(shared_.experiment_dir) / safe_name(model_.name)).string();
    ExportedModel exported = export_model(model, dir, description);
    shared_.store.record_artifact(run_id_, "model", exported.weights);
    shared_.store.record_artifact(run_id_, "model_description", exported.description);
    evaluated_ = true;
  }

  void publish_weights(const std::string& name, Backbone& backbone) override {
    const std::string path = published_path(shared_, model_);
    fs::create_directories(fs::path(path).parent_path());
    save_state_dict(path, backbone);
    shared_.published[name] = path;
    shared_.store.record_artifact(run_id_, "published_weights", path);
    if (!shared_.options.quiet) {
      std::cerr << model_.name << ": published weights '" << name << "' (" << path << ")\n";
    }
  }

  bool evaluated() const { return evaluated_; }

  // Images the split holds and the loader skipped, counted with the run (once per split).
  void record_bad_images(Split split) {
    if (!recorded_bad_.insert(split).second) return;
    auto decoded = shared_.data.images(data_, split, input_, shared_.workers, on_bad_image_);
    const auto& bad = decoded->bad_images();
    shared_.store.record_metrics(
        run_id_, "data",
        {{std::string("skipped_images/") + split_name(split), static_cast<double>(bad.size())},
         {std::string("samples/") + split_name(split), static_cast<double>(decoded->size())}});
    if (!shared_.options.quiet) {
      for (const auto& b : bad) std::cerr << "warning: skipped " << b.message << "\n";
    }
  }

  static std::string safe_name(const std::string& name) {
    std::string out = name;
    for (char& c : out) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.' &&
          c != '@') {
        c = '_';
      }
    }
    return out;
  }

  static std::string published_path(const Shared& shared, const config::ResolvedModel& model) {
    return (fs::path(shared.cache_dir) / "weights" / (model.hash + ".pt")).string();
  }

 private:
  const Augmenter* augmenter() {
    if (augmenter_) return augmenter_.get();
    const json& spec = model_.json.value("augmenter", json());
    if (!spec.is_object()) return nullptr;
    augmenter_ = shared_.registry.make_augmenter(plugin_of(spec), params_of(spec), shared_.context);
    return augmenter_.get();
  }

  void load_weights(const json& spec) {
    weights_id_ = "random-init:" + std::to_string(seed_);
    if (!spec.contains("weights") || spec["weights"].is_null()) return;
    const json& w = spec["weights"];
    std::string path;
    std::vector<std::string> skip;
    if (w.is_string()) {
      path = shared_.context.resolve(w.get<std::string>());
    } else if (w.contains("published")) {
      const std::string name = w["published"].get<std::string>();
      auto it = shared_.published.find(name);
      if (it == shared_.published.end()) {
        throw Error("weights '" + name +
                    "' are not published: a model with strategy pretrain and `publish: " + name +
                    "` must run earlier in this experiment (and succeed)");
      }
      path = it->second;
    } else {
      path = shared_.context.resolve(w.value("file", std::string()));
      if (w.contains("skip")) skip = w["skip"].get<std::vector<std::string>>();
    }
    load_state_dict(*backbone_, path, skip);
    weights_id_ = sha256_of_file(path);
    shared_.store.record_artifact(run_id_, "weights", path);
  }

  Shared& shared_;
  const config::ResolvedModel& model_;
  std::int64_t run_id_;
  std::uint64_t seed_;
  const PreparedData& data_;
  Params strategy_params_;
  TrainingSettings settings_;
  InputSpec input_;
  OnBadImage on_bad_image_;
  int classes_;
  OutputMode mode_;
  std::shared_ptr<Backbone> backbone_;
  std::unique_ptr<Augmenter> augmenter_;
  std::string weights_id_;
  bool evaluated_ = false;
  std::set<Split> recorded_bad_;
};

void write_split_lists(const std::string& dir, const PreparedData& data) {
  fs::create_directories(dir);
  json lists;
  lists["classes"] = data.split.classes;
  lists["train"] = data.ids(Split::train);
  lists["val"] = data.ids(Split::val);
  lists["test"] = data.ids(Split::test);
  std::ofstream out(fs::path(dir) / "split.json");
  out << lists.dump(1) << "\n";
}

}  // namespace

ExperimentOutcome run_experiment(const config::Plan& plan, const Registry& registry,
                                 const RunOptions& options) {
  Store store = Store::open(options.db_path);
  Context context;
  context.experiment_dir = fs::path(plan.file).parent_path().string();
  context.cache_dir = options.cache_dir.empty() ? (fs::path(options.results_dir) / "cache").string()
                                                : options.cache_dir;
  Shared shared{registry,
                store,
                options,
                context,
                (fs::path(options.results_dir) / RunCell::safe_name(plan.experiment)).string(),
                context.cache_dir,
                DataSource(registry, context),
                FeatureCache((fs::path(context.cache_dir) / "features").string()),
                {},
                options.data_workers > 0 ? options.data_workers : std::max(1, options.threads)};

  ExperimentOutcome outcome;
  outcome.experiment_id = store.begin_experiment(plan.experiment, plan.file, plan.text);
  std::size_t index = 0;
  std::size_t total = 0;
  for (const auto& model : plan.models) {
    if (options.only.empty() ||
        std::find(options.only.begin(), options.only.end(), model.name) != options.only.end()) {
      ++total;
    }
  }
  for (const auto& model : plan.models) {
    if (!options.only.empty() &&
        std::find(options.only.begin(), options.only.end(), model.name) == options.only.end()) {
      continue;
    }
    ++index;
    // The previous model's cached buffers rarely fit this one's shapes: hand them back.
    release_cached_cpu_memory();
    const std::uint64_t seed = options.seed_override >= 0
                                   ? static_cast<std::uint64_t>(options.seed_override)
                                   : model.json.value("seed", 42ULL);
    const std::string strategy = plugin_of(model.json["strategy"]);
    RunStart start;
    start.experiment_id = outcome.experiment_id;
    start.model = model.name;
    start.strategy = strategy;
    start.backbone = plugin_of(model.json["backbone"]);
    start.config_json = model.json.dump();
    start.config_hash = model.hash;
    start.seed = static_cast<std::int64_t>(seed);
    start.threads = options.threads;
    const std::int64_t run_id = store.begin_run(start);
    if (!options.quiet) {
      std::cerr << "[" << index << "/" << total << "] " << model.name << ": strategy " << strategy
                << ", backbone " << start.backbone << ", run " << run_id << "\n";
    }
    try {
      const PreparedData& data = shared.data.prepare(model.json["data"]);
      write_split_lists((fs::path(shared.experiment_dir) / RunCell::safe_name(model.name)).string(),
                        data);
      // A publishing model (pretrain) whose identical config already published its weights is not
      // trained again: the weights file is content-addressed by the model's hash.
      const Params strategy_params = params_of(model.json["strategy"]);
      const std::string published = RunCell::published_path(shared, model);
      if (strategy_params.has("publish") && fs::exists(published)) {
        shared.published[strategy_params.string("publish")] = published;
        store.record_artifact(run_id, "published_weights", published);
        store.finish_run(run_id, RunStatus::kCompleted, "",
                         {{"model", "reused_published_weights", 1.0}});
        if (!options.quiet) {
          std::cerr << model.name << ": reusing weights '" << strategy_params.string("publish")
                    << "' published by an identical earlier run (" << published << ")\n";
        }
        ++outcome.completed;
        continue;
      }
      torch::manual_seed(seed);
      auto plugin = registry.make_strategy(strategy, strategy_params, context);
      RunCell cell(shared, model, run_id, seed, data);
      plugin->run(cell);
      store.finish_run(run_id, RunStatus::kCompleted, "");
      ++outcome.completed;
    } catch (const Interrupted&) {
      store.finish_run(run_id, RunStatus::kInterrupted, "interrupted by the user (SIGINT)");
      outcome.interrupted = true;
      std::cerr << model.name << ": interrupted; the run is recorded as interrupted\n";
      break;
    } catch (const std::exception& e) {
      std::string reason = e.what();
      // libtorch's messages carry a C++ backtrace after the first line; keep the first line.
      const auto newline = reason.find('\n');
      if (newline != std::string::npos) reason = reason.substr(0, newline);
      store.finish_run(run_id, RunStatus::kFailed, reason);
      ++outcome.failed;
      std::cerr << model.name << ": error: " << reason << "\n";
    }
  }
  store.finish_experiment(outcome.experiment_id, outcome.interrupted ? RunStatus::kInterrupted
                                                 : outcome.failed    ? RunStatus::kFailed
                                                                     : RunStatus::kCompleted);
  return outcome;
}

}  // namespace tlr
