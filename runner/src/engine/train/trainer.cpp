#include "engine/train/trainer.h"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "engine/train/forward_pass.h"
#include "engine/train/lr_schedule.h"
#include "tlr/error.h"

namespace tlr {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::unique_ptr<torch::optim::OptimizerOptions> options_for(const OptimizerSettings& s, double lr) {
  if (s.name == "rmsprop") {
    // torch's RMSprop adds eps outside the square root, as Keras does: p -= lr·g / (√v + eps).
    return std::make_unique<torch::optim::RMSpropOptions>(torch::optim::RMSpropOptions(lr)
                                                              .alpha(s.rho)
                                                              .eps(s.eps)
                                                              .momentum(s.momentum)
                                                              .weight_decay(s.weight_decay));
  }
  if (s.name == "adam") {
    return std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(lr)
                                                           .betas({s.beta1, s.beta2})
                                                           .eps(s.eps)
                                                           .weight_decay(s.weight_decay));
  }
  if (s.name == "sgd") {
    return std::make_unique<torch::optim::SGDOptions>(
        torch::optim::SGDOptions(lr).momentum(s.momentum).weight_decay(s.weight_decay));
  }
  throw Error("training.optimizer.name: unknown optimizer '" + s.name +
              "'; expected rmsprop, adam or sgd");
}

// The weights keep-best restores: trainable parameters and every buffer (BatchNorm statistics).
// Frozen parameters never change during a fit, so they are not copied.
struct Snapshot {
  NamedTensors saved;

  static NamedTensors tensors(torch::nn::Module& model) {
    NamedTensors out;
    for (const auto& p : model.named_parameters()) {
      if (p.value().requires_grad()) out.emplace_back(p.key(), p.value());
    }
    for (const auto& b : model.named_buffers()) out.emplace_back(b.key(), b.value());
    return out;
  }
  void take(torch::nn::Module& model) {
    torch::NoGradGuard no_grad;
    saved.clear();
    for (const auto& [name, t] : tensors(model)) saved.emplace_back(name, t.detach().clone());
  }
  void restore(torch::nn::Module& model) const {
    torch::NoGradGuard no_grad;
    auto live = tensors(model);
    for (std::size_t i = 0; i < live.size() && i < saved.size(); ++i) {
      live[i].second.copy_(saved[i].second);
    }
  }
  // A checkpoint's snapshot, put in the model's order (restore() is positional).
  void adopt(const std::string& path, torch::nn::Module& model, const NamedTensors& from) {
    saved.clear();
    if (from.empty()) return;  // no epoch had ended
    const NamedTensors live = tensors(model);
    check_same_tensors(path, live, from);
    std::map<std::string, torch::Tensor> by_name(from.begin(), from.end());
    for (const auto& [name, t] : live) saved.emplace_back(name, by_name.at(name));
  }
};

struct PassTotals {
  double loss_sum = 0;  // sum of per-sample losses
  std::int64_t correct = 0;
  std::int64_t samples = 0;
  double loss() const { return samples ? loss_sum / samples : 0; }
  double accuracy() const { return samples ? static_cast<double>(correct) / samples : 0; }
};

std::string epoch_label(const std::string& phase, int epoch) {
  return (phase.empty() ? "" : phase + " ") + "epoch " + std::to_string(epoch);
}

void check_finite(double loss, const std::string& phase, int epoch, const char* what) {
  if (std::isfinite(loss)) return;
  throw Error(epoch_label(phase, epoch) + ": " + what + " is " +
              (std::isnan(loss) ? "nan" : "inf") + "; stopping (lower the learning rate?)");
}

// A BatchNorm over features (not over images) in training mode: it fails on a batch of one.
bool trains_feature_batchnorm(torch::nn::Module& model) {
  for (const auto& module : model.modules(/*include_self=*/false)) {
    if (module->is_training() && module->as<torch::nn::BatchNorm1d>() != nullptr) return true;
  }
  return false;
}

}  // namespace

// Refuses a train split whose last batch would hold one image for a model with a BatchNorm over
// features, naming the fixes: drop_last, or the nearest batch sizes that leave more than one.
void check_last_batch(Classifier& model, const TrainingSettings& settings, std::size_t samples) {
  const auto batch = static_cast<std::size_t>(settings.batch_size);
  if (settings.drop_last || settings.steps_per_epoch > 0 || batch <= 1 || samples <= 1 ||
      samples % batch != 1) {
    return;
  }
  model.train();
  if (!trains_feature_batchnorm(model)) return;
  std::string sizes;
  int found = 0;
  for (std::size_t d = 1; d < batch && found < 2; ++d) {
    for (std::size_t b : {batch - d, batch + d}) {
      if (b > 1 && samples % b != 1 && found < 2) {
        sizes += (found++ > 0 ? " or " : "") + std::to_string(b);
      }
    }
  }
  throw Error("the last training batch of every epoch would hold 1 image (" +
              std::to_string(samples) + " train images, batch_size " + std::to_string(batch) +
              ") and the model trains a BatchNorm1d, which needs at least 2: set " +
              "training.drop_last: true" +
              (sizes.empty() ? std::string() : ", or batch_size " + sizes));
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const OptimizerSettings& settings,
                                                        const std::vector<ParamGroup>& groups,
                                                        std::vector<std::size_t>* kept) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  if (kept) kept->clear();
  for (std::size_t i = 0; i < groups.size(); ++i) {
    std::vector<torch::Tensor> trainable;
    for (const auto& p : groups[i].parameters) {
      if (p.requires_grad()) trainable.push_back(p);
    }
    if (trainable.empty()) continue;
    param_groups.emplace_back(std::move(trainable), options_for(settings, groups[i].learning_rate));
    if (kept) kept->push_back(i);
  }
  if (param_groups.empty()) {
    throw Error("nothing to train: no parameter group has a parameter with requires_grad");
  }
  auto defaults = options_for(settings, settings.lr);
  if (settings.name == "rmsprop") {
    return std::make_unique<torch::optim::RMSprop>(
        std::move(param_groups), static_cast<torch::optim::RMSpropOptions&>(*defaults));
  }
  if (settings.name == "adam") {
    return std::make_unique<torch::optim::Adam>(std::move(param_groups),
                                                static_cast<torch::optim::AdamOptions&>(*defaults));
  }
  return std::make_unique<torch::optim::SGD>(std::move(param_groups),
                                             static_cast<torch::optim::SGDOptions&>(*defaults));
}

Trainer::Trainer(TrainingSettings settings, OutputMode mode, int threads,
                 TrainerCallbacks callbacks)
    : settings_(std::move(settings)),
      mode_(mode),
      threads_(threads),
      callbacks_(std::move(callbacks)) {}

Trainer::~Trainer() = default;

FitResult Trainer::fit(Classifier& model, const std::vector<ParamGroup>& groups, Batches& train,
                       Batches& val, const FitOverrides& overrides) {
  if (threads_ > 0) torch::set_num_threads(threads_);
  const int epochs = overrides.epochs >= 0 ? overrides.epochs : settings_.epochs;
  const std::string& phase = overrides.phase;
  FitResult result;
  result.stopped_because = "max epochs";
  if (epochs == 0) {
    result.stopped_because = "no epochs";
    return result;
  }

  model.to(device_);
  const std::string& path = checkpointing_.path;
  const bool checkpointing = !path.empty();
  Clock::time_point last_checkpoint = Clock::now();
  std::optional<LoadedFitCheckpoint> resumed;
  if (checkpointing && std::filesystem::exists(path)) {
    resumed = load_fit_checkpoint(path, device_);
    const FitState& s = resumed->state;
    const std::string again = "; delete the file to start the fit over";
    if (s.epochs != epochs) {
      throw Error(path + ": error: the checkpoint is of a fit of " + std::to_string(s.epochs) +
                  " epochs, this fit plans " + std::to_string(epochs) + again);
    }
    if (s.optimizer != settings_.optimizer.name) {
      throw Error(path + ": error: the checkpoint is of a fit with optimizer " + s.optimizer +
                  ", this fit uses " + settings_.optimizer.name + again);
    }
    if (s.summary.done) {
      copy_named(path, model_tensors(model), s.weights);
      set_cpu_generator_state(s.generator);
      model.eval();  // as the last validation left it
      return s.result;
    }
  }

  check_last_batch(model, settings_, train.samples());
  std::vector<std::size_t> kept;
  auto optimizer = make_optimizer(settings_.optimizer, groups, &kept);
  std::vector<double> base;
  base.reserve(kept.size());
  for (std::size_t k : kept) base.push_back(groups[k].learning_rate);
  LrSchedule schedule(settings_.schedule, base, epochs);

  const EarlyStoppingSettings& stop = settings_.early_stopping;
  const bool stop_on_loss = stop.monitor == "val_loss";
  double stop_best = stop_on_loss ? std::numeric_limits<double>::infinity()
                                  : -std::numeric_limits<double>::infinity();
  int stop_wait = 0;

  Snapshot best;
  double best_acc = -1;
  const std::int64_t steps = settings_.steps_per_epoch;
  const std::int64_t expected =
      steps > 0 ? steps * settings_.batch_size : static_cast<std::int64_t>(train.samples());
  int pass = 0;
  int first_epoch = 1;
  bool finished = false;    // no epoch follows
  int epochs_recorded = 0;  // epochs whose record went to on_epoch, in this process or before
  bool resume_mid_epoch = false;

  if (resumed) {
    const FitState& s = resumed->state;
    copy_named(path, model_tensors(model), s.weights);
    load_optimizer(path, *optimizer, resumed->optimizer);
    try {
      schedule.restore(s.schedule);
    } catch (const Error& e) {
      throw Error(path + ": error: checkpoint does not match the fit: " + e.what() +
                  "; delete the file to start the fit over");
    }
    stop_best = s.stop_best;
    stop_wait = s.stop_wait;
    best.adopt(path, model, s.best);
    best_acc = s.best_acc;
    result = s.result;
    pass = s.pass;
    finished = s.finished;
    epochs_recorded = s.summary.epochs_recorded;
    resume_mid_epoch = s.mid_epoch;
    first_epoch = s.mid_epoch ? s.epoch : s.epoch + 1;
    // Mid-epoch, the generator is set once the batches already trained have been skipped.
    if (!resume_mid_epoch) set_cpu_generator_state(s.generator);
  }

  // The state as it stands after a training batch or at the end of epoch `epoch`.
  auto state_at = [&](int epoch) {
    FitState s;
    s.summary.epochs_recorded = epochs_recorded;
    s.summary.threads = torch::get_num_threads();
    s.epochs = epochs;
    s.optimizer = settings_.optimizer.name;
    s.epoch = epoch;
    s.finished = finished;
    s.pass = pass;
    s.schedule = schedule.state();
    s.stop_best = stop_best;
    s.stop_wait = stop_wait;
    s.best_acc = best_acc;
    s.best = best.saved;
    s.result = result;
    s.generator = cpu_generator_state();
    s.weights = model_tensors(model);
    return s;
  };
  auto stop_requested = [&] {
    return checkpointing && checkpointing_.stop_requested && checkpointing_.stop_requested();
  };

  for (int epoch = first_epoch; epoch <= epochs && !finished; ++epoch) {
    const std::vector<double>& lrs = schedule.current();
    for (std::size_t i = 0; i < lrs.size(); ++i) {
      optimizer->param_groups()[i].options().set_lr(lrs[i]);
    }
    EpochRecord record;
    record.epoch = epoch;
    record.epochs = epochs;
    record.phase = phase;
    record.group_lrs = lrs;
    record.lr = lrs.front();

    // --- train ---
    const auto start = Clock::now();
    model.train();
    PassTotals t;
    torch::Tensor inputs, labels;
    // taken: batches taken from this pass, counting those drop_last skips (a resume skips as many)
    std::int64_t step = 0, in_pass = 0, taken = 0;
    double seconds_before = 0;  // training time of this epoch before a resumed stop
    if (resume_mid_epoch) {
      const FitState& s = resumed->state;
      t = PassTotals{s.loss_sum, s.correct, s.samples};
      step = s.steps;
      in_pass = s.steps_in_pass;
      seconds_before = s.train_seconds;
      train.start_epoch(pass);
      for (; taken < s.taken_in_pass; ++taken) {
        if (!train.next(inputs, labels)) {
          throw Error(path + ": error: the checkpoint is " + std::to_string(s.taken_in_pass) +
                      " batches into pass " + std::to_string(pass) + ", the train split has " +
                      std::to_string(taken) + "; delete the file to start the fit over");
        }
      }
      set_cpu_generator_state(s.generator);
      resume_mid_epoch = false;
    } else {
      train.start_epoch(++pass);
    }
    while (steps == 0 || step < steps) {
      if (!train.next(inputs, labels)) {
        if (steps == 0 || in_pass == 0) break;
        train.start_epoch(++pass);  // steps_per_epoch asks for more than one pass
        in_pass = 0;
        taken = 0;
        continue;
      }
      ++taken;
      if (settings_.drop_last && labels.size(0) < settings_.batch_size) continue;
      inputs = inputs.to(device_);
      labels = labels.to(device_);
      ++step;
      ++in_pass;
      optimizer->zero_grad();
      torch::Tensor logits = forward_logits(model, inputs, precision_, device_);
      torch::Tensor loss = output_loss(mode_, logits, labels);
      const double value = loss.item<double>();
      check_finite(value, phase, epoch, "loss");
      loss.backward();
      optimizer->step();
      const std::int64_t n = labels.size(0);
      t.loss_sum += value * n;
      t.correct += output_predictions(mode_, logits.detach()).eq(labels).sum().item<std::int64_t>();
      t.samples += n;
      if (callbacks_.on_progress) {
        callbacks_.on_progress(TrainProgress{epoch, epochs, phase, t.samples,
                                             std::max(expected, t.samples), t.loss(), t.accuracy(),
                                             seconds_before + seconds_since(start)});
      }
      if (stop_requested()) {
        FitState s = state_at(epoch);
        s.mid_epoch = true;
        s.steps = step;
        s.steps_in_pass = in_pass;
        s.taken_in_pass = taken;
        s.loss_sum = t.loss_sum;
        s.correct = t.correct;
        s.samples = t.samples;
        s.train_seconds = seconds_before + seconds_since(start);
        save_fit_checkpoint(path, s, optimizer.get());
        throw CheckpointedStop();
      }
    }
    if (t.samples == 0)
      throw Error(epoch_label(phase, epoch) + ": the train split gave no batches");
    const double train_seconds = seconds_before + seconds_since(start);

    // --- validate ---
    PassTotals v;
    {
      torch::NoGradGuard no_grad;
      model.eval();
      val.start_epoch(epoch);
      while (val.next(inputs, labels)) {
        inputs = inputs.to(device_);
        labels = labels.to(device_);
        torch::Tensor logits = forward_logits(model, inputs, precision_, device_);
        const std::int64_t n = labels.size(0);
        v.loss_sum += output_loss(mode_, logits, labels).item<double>() * n;
        v.correct += output_predictions(mode_, logits).eq(labels).sum().item<std::int64_t>();
        v.samples += n;
      }
    }
    if (v.samples == 0) {
      throw Error(epoch_label(phase, epoch) + ": the validation split gave no batches");
    }
    check_finite(v.loss(), phase, epoch, "validation loss");

    record.train_loss = t.loss();
    record.train_acc = t.accuracy();
    record.val_loss = v.loss();
    record.val_acc = v.accuracy();
    record.seconds = seconds_before + seconds_since(start);
    record.images_per_second = train_seconds > 0 ? t.samples / train_seconds : 0;
    result.epochs = epoch;

    if (record.val_acc > best_acc) {
      best_acc = record.val_acc;
      result.best_epoch = epoch;
      result.best_val_accuracy = record.val_acc;
      best.take(model);
    }
    if (callbacks_.on_epoch && epoch > epochs_recorded) callbacks_.on_epoch(record);
    epochs_recorded = std::max(epochs_recorded, epoch);
    schedule.step(epoch, record.val_loss, record.val_acc);

    if (stop.patience > 0) {
      const double current = stop_on_loss ? record.val_loss : record.val_acc;
      const bool improved = stop_on_loss ? current < stop_best - stop.min_delta
                                         : current > stop_best + stop.min_delta;
      if (improved) {
        stop_best = current;
        stop_wait = 0;
      } else if (++stop_wait >= stop.patience) {
        result.stopped_because = "early stopping: " + stop.monitor + " did not improve for " +
                                 std::to_string(stop.patience) + " epochs";
        finished = true;
      }
    }
    if (epoch == epochs) finished = true;
    if (checkpointing) {
      // Also on the last epoch: a kill before the done file below resumes here, not an epoch back.
      const bool stopping = !finished && stop_requested();
      if (finished || stopping || checkpointing_.interval_seconds <= 0 ||
          seconds_since(last_checkpoint) >= checkpointing_.interval_seconds) {
        save_fit_checkpoint(path, state_at(epoch), optimizer.get());
        last_checkpoint = Clock::now();
      }
      if (stopping) throw CheckpointedStop();
    }
  }
  best.restore(model);
  if (checkpointing) {
    FitState done = state_at(result.epochs);
    done.summary.done = true;
    done.best.clear();  // the weights are the best ones now
    save_fit_checkpoint(path, done, nullptr);
  }
  return result;
}

}  // namespace tlr
