#include "core/run/run_cell.h"

#include <torch/torch.h>

#include <filesystem>
#include <iostream>

#include "core/run/model_failure.h"
#include "core/run/precision_choice.h"
#include "core/run/stop_signal.h"
#include "engine/data/feature_extraction.h"
#include "engine/data/tensor_batches.h"
#include "engine/train/evaluation.h"
#include "engine/train/fit_checkpoint.h"
#include "engine/train/model_export.h"
#include "engine/train/parameters.h"
#include "engine/train/progress.h"
#include "engine/train/trainer.h"
#include "engine/util/fault_point.h"
#include "engine/util/sha256.h"
#include "engine/weights/file_name_hash.h"
#include "engine/weights/state_dict.h"
#include "tlr/error.h"

namespace tlr {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string hash_text(const std::string& text) { return sha256_hex(text.data(), text.size()); }

Params block_params(const json& model, const char* key) {
  return Params::from_json(model.value(key, json::object()).dump());
}

}  // namespace

Params params_of(const json& component) {
  return Params::from_json(component.contains("params") ? component["params"].dump() : "{}");
}

std::string plugin_of(const json& component) {
  return component.is_object() && component.contains("plugin")
             ? component["plugin"].get<std::string>()
             : std::string();
}

torch::Device device_of(const json& model, const std::string& override_device) {
  const std::string name =
      !override_device.empty() ? override_device : model.value("device", std::string("cpu"));
  if (name == "cpu") return torch::kCPU;
  if (name == "auto") {
    return torch::hasCUDA() && torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0)
                                                           : torch::Device(torch::kCPU);
  }
  if (name.rfind("cuda", 0) == 0) {
    if (!torch::hasCUDA()) {
      throw Error("device '" + name + "': this libtorch build has no CUDA; use cpu or auto");
    }
    return torch::Device(name);
  }
  throw Error("device '" + name + "': unknown; expected cpu, cuda, cuda:N or auto");
}

ExperimentServices::ExperimentServices(const Registry& registry_, Store& store_,
                                       const RunOptions& options_, const config::Plan& plan)
    : registry(registry_),
      store(store_),
      options(options_),
      experiment(plan.experiment),
      context{fs::path(plan.file).parent_path().string(),
              ResultsLayout(options_.results_dir, options_.cache_dir).cache_dir()},
      layout(options_.results_dir, options_.cache_dir),
      data(registry_, context),
      features(layout.features_dir()),
      workers(options_.data_workers > 0 ? options_.data_workers : std::max(1, options_.threads)) {}

RunCell::RunCell(ExperimentServices& services, const config::ResolvedModel& model,
                 std::string identity, std::int64_t run_id, std::uint64_t seed,
                 const PreparedData& data)
    : services_(services),
      model_(model),
      identity_(std::move(identity)),
      run_id_(run_id),
      seed_(seed),
      data_(data),
      strategy_params_(params_of(model.json["strategy"])),
      settings_(TrainingSettings::parse(block_params(model.json, "training"))),
      input_(InputSpec::from_params(block_params(model.json["data"], "input"))),
      on_bad_image_(on_bad_image_from(model.json["data"].value("on_bad_image", "skip"))),
      classes_(static_cast<int>(data.split.classes.size())),
      mode_(output_mode_for(classes_, model.json.value("output", std::string("auto")))),
      device_(device_of(model.json, services.options.device)),
      precision_(precision_of(model.json, device_)) {}

std::string RunCell::component(const char* slot) const {
  return std::string(slot) + " '" + plugin_of(model_.json.value(slot, json())) + "'";
}

std::shared_ptr<Backbone> RunCell::backbone() {
  if (backbone_) return backbone_;
  const json& spec = model_.json["backbone"];
  in_phase(component("backbone"), "building", [&] {
    torch::manual_seed(seed_);
    backbone_ =
        services_.registry.make_backbone(plugin_of(spec), params_of(spec), services_.context);
    if (!backbone_) throw Error("backbone '" + plugin_of(spec) + "' built nothing");
  });
  in_phase(component("backbone"), "loading weights", [&] { load_weights(spec); });
  backbone_->to(device_);
  return backbone_;
}

torch::nn::Sequential RunCell::make_head(const std::vector<std::int64_t>& in_shape) {
  const json& spec = model_.json["head"];
  return in_phase(component("head"), "building", [&] {
    auto head = services_.registry.make_head(plugin_of(spec), params_of(spec), services_.context);
    torch::manual_seed(seed_ + 1);
    torch::nn::Sequential built = head->build(in_shape, output_units(mode_, classes_));
    built->to(device_);
    return built;
  });
}

std::vector<std::int64_t> RunCell::input_shape() const {
  return {input_.channels, input_.height, input_.width};
}

std::shared_ptr<Batches> RunCell::images(Split split, bool augment) {
  BatchRequest request;
  request.split = split;
  request.augmenter = augment && split == Split::train ? augmenter() : nullptr;
  request.batch_size = static_cast<std::size_t>(settings_.batch_size);
  request.shuffle = split == Split::train;
  request.seed = seed_;
  request.steps_per_epoch =
      split == Split::train ? static_cast<std::size_t>(settings_.steps_per_epoch) : 0;
  request.workers = services_.workers;
  request.on_bad_image = on_bad_image_;
  auto batches = services_.data.batches(data_, input_, request);
  record_bad_images(split);
  return batches;
}

std::shared_ptr<Batches> RunCell::features(Split split, Backbone& backbone) {
  const json& spec = model_.json["backbone"];
  auto decoded = services_.data.images(data_, split, input_, services_.workers, on_bad_image_);
  const std::string key = hash_text(image_key(*decoded, input_) + "|" + plugin_of(spec) + "|" +
                                    params_of(spec).json() + "|" + weights_id_ + "|" +
                                    backbone.blocks().back() + "|" + precision_name(precision_));
  FeatureSet set = services_.features.get(key, [&] {
    BatchRequest request;
    request.split = split;
    request.batch_size = 64;
    request.workers = services_.workers;
    request.on_bad_image = on_bad_image_;
    auto batches = services_.data.batches(data_, input_, request);
    return in_phase(component("backbone"), "feature extraction", [&] {
      return extract_features(backbone, *batches, device_, precision_, split_name(split), [] {
        if (stop_requested()) throw Interrupted();
      });
    });
  });
  if (!set.cache_problem.empty()) std::cerr << set.cache_problem << "\n";
  if (!services_.options.quiet) {
    std::cerr << model_.name << ": " << split_name(split) << " features "
              << (set.from_cache ? "read from cache" : "computed and cached") << " ("
              << set.features.size(0) << " samples)\n";
  }
  record_bad_images(split);
  auto batches = std::make_shared<TensorBatches>(set.features, set.labels, settings_.batch_size,
                                                 split == Split::train, seed_);
  feature_sources_[batches.get()] = FeatureSource{batches, &backbone};
  return batches;
}

FitResult RunCell::fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                       Batches& val, const FitOverrides& overrides) {
  ProgressStyle style = progress_style_for_stderr(services_.options.quiet);
  if (style == ProgressStyle::bar && services_.options.line_progress) style = ProgressStyle::lines;
  ProgressPrinter printer(std::cerr, style, model_.name);
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
    services_.store.record_epoch(run_id_, row);
    fault_point("epoch_recorded");
  };
  callbacks.on_progress = [](const TrainProgress&) { fault_point("train_batch"); };
  Trainer trainer(settings_, mode_, services_.options.threads, printer.attach(callbacks));
  trainer.set_device(device_);
  trainer.set_precision(precision_);
  FitCheckpointing checkpointing;
  checkpointing.path = (fs::path(services_.layout.checkpoint_dir(identity_)) /
                        ("fit-" + std::to_string(fits_++) + ".pt"))
                           .string();
  checkpointing.stop_requested = [] { return stop_requested(); };
  checkpointing.interval_seconds = services_.options.checkpoint_interval;
  trainer.set_checkpointing(checkpointing);
  const std::string what = component("backbone") + " + " + component("head");
  FitResult result = in_phase(what, "training", [&] {
    try {
      return trainer.fit(model, groups, train, val, overrides);
    } catch (const CheckpointedStop&) {
      throw Interrupted(/*checkpointed=*/true);
    }
  });
  // The validation images' predictions at the kept weights; a later fit (the strategy's next
  // phase) replaces them, so they are those of the model evaluate() tests.
  const Evaluation on_val = in_phase(what, "validation predictions", [&] {
    return tlr::evaluate(model, val, mode_, classes_, device_, precision_);
  });
  record_predictions(Split::val, on_val);
  const std::string phase = overrides.phase.empty() ? "" : overrides.phase + "/";
  add_metrics("val", {{phase + "best_accuracy", result.best_val_accuracy},
                      {phase + "best_epoch", result.best_epoch},
                      {phase + "epochs", result.epochs}});
  return result;
}

void RunCell::evaluate(Classifier& model, Batches& test) {
  const std::string what = component("backbone") + " + " + component("head");
  Evaluation e = in_phase(what, "evaluation", [&] {
    return tlr::evaluate(model, test, mode_, classes_, device_, precision_);
  });
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
  add_metrics("test", values);
  results_.confusion["test"] = ConfusionMatrix{data_.split.classes, e.confusion};
  record_predictions(Split::test, e);
  add_metrics("model", {{"trainable_params", double(count_trainable(model))},
                        {"total_params", double(count_parameters(model))}});

  // The model to keep takes images: the classifier itself, or, when the test batches are
  // features of the cell's backbone, that backbone followed by the head.
  std::shared_ptr<Backbone> kept = model.backbone;
  std::string not_images;
  const auto source = feature_sources_.find(&test);
  if (source != feature_sources_.end() && source->second.batches.lock().get() == &test) {
    if (model.backbone) {
      not_images = "its test inputs are backbone features and it has a backbone of its own";
    } else if (source->second.backbone != backbone_.get()) {
      not_images = "its test inputs are features of part of the backbone";
    } else {
      kept = backbone_;
    }
  } else if (model.backbone && model.backbone != backbone_) {
    not_images = "its backbone is not the one the cell built";
  } else if (!model.backbone) {
    not_images = "it has no backbone and its test inputs are not features of one";
  }
  ModelDescription description;
  description.model_name = model_.name;
  description.config_json = model_.json.dump();
  description.classes = data_.split.classes;
  description.mode = mode_;
  description.input = input_;
  description.precision = precision_;
  description.not_images = not_images;
  const std::string dir =
      services_.layout.run_dir(services_.experiment, model_.name, run_id_, identity_);
  ExportedModel exported = export_model(kept, model.head, dir, description);
  add_artifact("model", exported.weights);
  add_artifact("model_description", exported.description);
}

void RunCell::publish_if_asked() {
  if (model_.publishes.empty() || published_) return;
  if (!backbone_) {
    throw Error("model publishes weights '" + model_.publishes +
                "' but its strategy built no backbone");
  }
  const std::string path = services_.layout.published_weights(identity_);
  fs::create_directories(fs::path(path).parent_path());
  backbone_->to(torch::kCPU);
  save_state_dict(path, *backbone_);
  backbone_->to(device_);
  services_.published[model_.publishes] = path;
  add_artifact("published_weights", path);
  published_ = true;
  if (!services_.options.quiet) {
    std::cerr << model_.name << ": published weights '" << model_.publishes << "' (" << path
              << ")\n";
  }
}

void RunCell::record_bad_images(Split split) {
  if (!recorded_bad_.insert(split).second) return;
  auto decoded = services_.data.images(data_, split, input_, services_.workers, on_bad_image_);
  const auto& bad = decoded->bad_images();
  const auto& warned = decoded->warnings();
  add_metrics(
      "data",
      {{std::string("skipped_images/") + split_name(split), static_cast<double>(bad.size())},
       {std::string("warned_images/") + split_name(split), static_cast<double>(warned.size())},
       {std::string("samples/") + split_name(split), static_cast<double>(decoded->size())}});
  if (!services_.options.quiet) {
    for (const auto& b : bad) std::cerr << "warning: skipped " << b.message << "\n";
    for (const auto& w : warned) std::cerr << w.message << "\n";
  }
}

void RunCell::record_predictions(Split split, const Evaluation& e) {
  // The batches of a split follow its decoded images in order (no shuffle outside training), so
  // sample k is the split's k-th image kept; `sample` numbers it within the split's list as
  // written to the split files, so it joins across runs even when images were skipped.
  auto decoded = services_.data.images(data_, split, input_, services_.workers, on_bad_image_);
  const std::vector<std::size_t>& listed = data_.indices(split);
  std::map<std::size_t, std::int64_t> position;
  for (std::size_t i = 0; i < listed.size(); ++i)
    position[listed[i]] = static_cast<std::int64_t>(i);
  const bool matches = decoded->size() == e.labels.size();
  const std::size_t classes = e.confusion.size();
  std::vector<Prediction> rows(e.labels.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    Prediction& row = rows[k];
    if (matches) {
      const std::size_t index = decoded->dataset_index(k);
      row.sample = position.at(index);
      row.sample_id = data_.dataset->id(index);
    } else {
      // A strategy evaluated other batches than the split's images: no ids to pair them by.
      row.sample = static_cast<std::int64_t>(k);
    }
    row.true_label = e.labels[k];
    row.predicted_label = e.predicted[k];
    row.probabilities.assign(
        e.probabilities.begin() + static_cast<std::ptrdiff_t>(k * classes),
        e.probabilities.begin() + static_cast<std::ptrdiff_t>((k + 1) * classes));
  }
  results_.predictions[split_name(split)] = std::move(rows);
}

void RunCell::add_metrics(const std::string& split,
                          const std::vector<std::pair<std::string, double>>& values) {
  for (const auto& [name, value] : values) results_.metrics.push_back(Metric{split, name, value});
}

void RunCell::add_artifact(const std::string& kind, const std::string& path) {
  // Hashed now, while the file is what this run wrote; recorded with the run's completion.
  results_.artifacts.push_back(describe_artifact(kind, path));
}

const Augmenter* RunCell::augmenter() {
  if (augmenter_) return augmenter_.get();
  const json& spec = model_.json.value("augmenter", json());
  if (!spec.is_object()) return nullptr;
  augmenter_ =
      services_.registry.make_augmenter(plugin_of(spec), params_of(spec), services_.context);
  return augmenter_.get();
}

void RunCell::load_weights(const json& spec) {
  weights_id_ = "random-init:" + std::to_string(seed_);
  if (!spec.contains("weights") || spec["weights"].is_null()) return;
  const json& w = spec["weights"];
  std::string path;
  std::vector<std::string> skip;
  if (w.is_string()) {
    path = services_.context.resolve(w.get<std::string>());
  } else if (w.contains("published")) {
    const std::string name = w["published"].get<std::string>();
    auto it = services_.published.find(name);
    if (it == services_.published.end()) {
      // The plan checked the link; the publisher ran and failed.
      throw Error("weights '" + name + "' are not published: the model publishing them failed");
    }
    path = it->second;
  } else {
    path = services_.context.resolve(w.value("file", std::string()));
    if (w.contains("skip")) skip = w["skip"].get<std::vector<std::string>>();
  }
  weights_id_ = sha256_of_file(path);
  check_claimed_sha256(path, weights_id_);
  load_state_dict(*backbone_, path, skip);
  add_artifact("weights", path);
}

}  // namespace tlr
