// Trainer::fit with a checkpoint: a fit stopped anywhere (at a batch, at an epoch's end, by a kill
// between a record and its checkpoint) and continued by a new Trainer on a new model gives the
// same records, bit for bit, the same result and the same final weights and generator state as a
// fit that never stopped.
#include "engine/train/fit_checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/data/tensor_batches.h"
#include "engine/train/trainer.h"
#include "support/expect_throw.h"
#include "tlr/error.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

// Forwards to another Batches, counting the passes it starts.
class CountingBatches : public Batches {
 public:
  explicit CountingBatches(Batches& inner) : inner_(inner) {}
  std::size_t samples() const override { return inner_.samples(); }
  void start_epoch(int epoch) override {
    ++starts;
    inner_.start_epoch(epoch);
  }
  bool next(torch::Tensor& inputs, torch::Tensor& labels) override {
    return inner_.next(inputs, labels);
  }
  int starts = 0;

 private:
  Batches& inner_;
};

// 3×8×8 images, 3 classes by which channel is brightest, with label noise so that validation
// accuracy wanders (early stopping and the plateau schedule then have something to do).
struct Data {
  torch::Tensor x_train, y_train, x_val, y_val;
};

Data make_data() {
  torch::manual_seed(11);
  auto make = [](std::int64_t n, torch::Tensor& x, torch::Tensor& y) {
    x = torch::randn({n, 3, 8, 8});
    y = x.mean({2, 3}).argmax(1);
    torch::Tensor flip = torch::rand({n}) < 0.2;
    y = torch::where(flip, (y + 1) % 3, y);
  };
  Data d;
  make(70, d.x_train, d.y_train);  // 16 + 16 + 16 + 16 + 6: the last batch is a small one
  make(40, d.x_val, d.y_val);
  return d;
}

// What varies between the scenarios; the model is always the test backbone with block1 frozen
// (its BatchNorm keeps its statistics) and a head with Dropout and BatchNorm1d.
struct Scenario {
  TrainingSettings settings;
  int hidden = 16;     // width of the head's hidden layer
  bool extra = false;  // one more Linear at the end of the head
};

Scenario rmsprop_plateau_early_stopping() {
  Scenario s;
  s.settings.optimizer.name = "rmsprop";
  s.settings.optimizer.lr = 0.02;
  s.settings.optimizer.momentum = 0.5;
  s.settings.epochs = 8;
  s.settings.batch_size = 16;
  s.settings.schedule.name = "plateau";
  s.settings.schedule.patience = 1;
  s.settings.schedule.factor = 0.5;
  s.settings.early_stopping.patience = 3;
  s.settings.early_stopping.monitor = "val_acc";
  return s;
}

Scenario adam_step_multi_pass() {
  Scenario s;
  s.settings.optimizer.name = "adam";
  s.settings.optimizer.lr = 0.01;
  s.settings.epochs = 4;
  s.settings.batch_size = 16;
  s.settings.steps_per_epoch = 6;  // 4 full batches a pass (drop_last skips the 6): 1.5 passes
  s.settings.drop_last = true;
  s.settings.schedule.name = "step";
  s.settings.schedule.step_size = 2;
  s.settings.schedule.gamma = 0.5;
  return s;
}

std::shared_ptr<Classifier> make_model(const Scenario& setup, int seed) {
  torch::manual_seed(seed);
  auto backbone = std::make_shared<testing::TinyBackbone>();
  torch::nn::Sequential head(torch::nn::Flatten(), torch::nn::Dropout(0.3),
                             torch::nn::Linear(8 * 4 * 4, setup.hidden),
                             torch::nn::BatchNorm1d(setup.hidden), torch::nn::ReLU(),
                             torch::nn::Dropout(0.2), torch::nn::Linear(setup.hidden, 3));
  if (setup.extra) head->push_back(torch::nn::Linear(3, 3));
  auto model = std::make_shared<Classifier>(backbone, head);
  for (auto& p : backbone->named_parameters()) {
    if (p.key().rfind("block1.", 0) == 0) p.value().set_requires_grad(false);
  }
  return model;
}

std::vector<ParamGroup> groups_of(Classifier& model) {
  ParamGroup head{"head", model.head->parameters(), 0.02};
  ParamGroup block2{"block2", {}, 0.005};
  for (auto& p : model.backbone->named_parameters()) {
    if (p.key().rfind("block2.", 0) == 0) block2.parameters.push_back(p.value());
  }
  return {block2, head};
}

struct Outcome {
  std::vector<EpochRecord> records;
  FitResult result;
  std::map<std::string, torch::Tensor> weights;
  torch::Tensor generator;  // after the fit
};

// How a first fit() is cut short.
struct Cut {
  int at_batch = 0;       // stop_requested() true after this training batch (1-based, total)
  int after_epoch = 0;    // stop_requested() true once this epoch's record is out
  int kill_in_epoch = 0;  // on_epoch throws for this epoch (a kill before its checkpoint)
  int kill_at_batch = 0;  // on_progress throws at this batch (a kill mid-epoch)
};

struct Killed : std::exception {};

class FitCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    dir_ = fs::path(TLR_BUILD_DIR) / "test-tmp" /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    path_ = (dir_ / "ckpt" / "fit.pt").string();  // ckpt/ does not exist yet: fit creates it
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A fit from a model built with `seed`, with fresh batches over the same data.
  Outcome fit(const Scenario& setup, int seed, const std::string& path,
              std::function<bool()> stop = nullptr, TrainerCallbacks callbacks = {},
              Outcome* into = nullptr) {
    Outcome local;
    Outcome& out = into ? *into : local;
    auto model = make_model(setup, seed);
    TensorBatches train(data_.x_train, data_.y_train, setup.settings.batch_size, true, 5);
    TensorBatches val(data_.x_val, data_.y_val, 32, false, 5);
    auto on_epoch = callbacks.on_epoch;
    callbacks.on_epoch = [&out, on_epoch](const EpochRecord& r) {
      out.records.push_back(r);
      if (on_epoch) on_epoch(r);
    };
    Trainer trainer(setup.settings, OutputMode::softmax, 1, callbacks);
    trainer.set_checkpointing(FitCheckpointing{path, std::move(stop)});
    out.result = trainer.fit(*model, groups_of(*model), train, val);
    out.weights = testing::state_of(*model);
    out.generator = cpu_generator_state();
    return out;
  }

  // The first fit cut as `cut` says, then a new Trainer on a new model (another seed) with the
  // same path, keeping the records as a caller would: those the checkpoint says were recorded.
  Outcome cut_and_resume(const Scenario& setup, const Cut& cut, bool* stopped = nullptr) {
    Outcome first;
    int batches = 0;
    bool stop_now = false;
    TrainerCallbacks callbacks;
    callbacks.on_progress = [&](const TrainProgress&) {
      ++batches;
      if (batches == cut.at_batch) stop_now = true;
      if (batches == cut.kill_at_batch) throw Killed();
    };
    callbacks.on_epoch = [&](const EpochRecord& r) {
      if (r.epoch == cut.after_epoch) stop_now = true;
      if (r.epoch == cut.kill_in_epoch) throw Killed();
    };
    bool interrupted = false;
    try {
      fit(
          setup, 1, path_, [&] { return stop_now; }, callbacks, &first);
    } catch (const CheckpointedStop&) {
      interrupted = true;
    } catch (const Killed&) {
      interrupted = true;
    }
    if (stopped) *stopped = interrupted;
    std::vector<EpochRecord> kept = first.records;
    if (fs::exists(path_)) {
      const FitCheckpointSummary summary = read_fit_checkpoint_summary(path_);
      EXPECT_EQ(summary.threads, 1);
      if (interrupted) {
        EXPECT_FALSE(summary.done);
      }
      kept.resize(static_cast<std::size_t>(summary.epochs_recorded));
    }
    Outcome second = fit(setup, 99, path_);
    EXPECT_TRUE(read_fit_checkpoint_summary(path_).done);
    second.records.insert(second.records.begin(), kept.begin(), kept.end());
    return second;
  }

  static void expect_same(const Outcome& expected, const Outcome& actual, const std::string& what) {
    SCOPED_TRACE(what);
    ASSERT_EQ(actual.records.size(), expected.records.size());
    for (std::size_t i = 0; i < expected.records.size(); ++i) {
      const EpochRecord &e = expected.records[i], &a = actual.records[i];
      SCOPED_TRACE("record " + std::to_string(i));
      EXPECT_EQ(a.epoch, e.epoch);
      EXPECT_EQ(a.train_loss, e.train_loss);
      EXPECT_EQ(a.train_acc, e.train_acc);
      EXPECT_EQ(a.val_loss, e.val_loss);
      EXPECT_EQ(a.val_acc, e.val_acc);
      EXPECT_EQ(a.lr, e.lr);
      EXPECT_EQ(a.group_lrs, e.group_lrs);
    }
    EXPECT_EQ(actual.result.epochs, expected.result.epochs);
    EXPECT_EQ(actual.result.best_epoch, expected.result.best_epoch);
    EXPECT_EQ(actual.result.best_val_accuracy, expected.result.best_val_accuracy);
    EXPECT_EQ(actual.result.stopped_because, expected.result.stopped_because);
    ASSERT_EQ(actual.weights.size(), expected.weights.size());
    for (const auto& [name, tensor] : expected.weights) {
      EXPECT_TRUE(torch::equal(actual.weights.at(name), tensor)) << name;
    }
    EXPECT_TRUE(torch::equal(actual.generator, expected.generator)) << "generator state";
  }

  Data data_ = make_data();
  fs::path dir_;
  std::string path_;
};

TEST_F(FitCheckpoint, NoPathTrainsAsBeforeAndWritesNothing) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  const Outcome plain = fit(setup, 1, "");
  EXPECT_FALSE(fs::exists(dir_));
  const Outcome with_file = fit(setup, 1, path_);
  expect_same(plain, with_file, "checkpointing changes nothing of an uninterrupted fit");
}

TEST_F(FitCheckpoint, StoppedAtAnyBatchResumesBitIdentically) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  const Outcome reference = fit(setup, 1, "");
  // The scenario is worth something only if dropout, the plateau and early stopping all act.
  ASSERT_EQ(reference.result.stopped_because.rfind("early stopping", 0), 0u)
      << reference.result.stopped_because;
  ASSERT_LT(reference.result.best_epoch, reference.result.epochs);
  bool lr_fell = false;
  for (const auto& r : reference.records) lr_fell |= r.lr < reference.records[0].lr;
  ASSERT_TRUE(lr_fell);
  const int per_epoch = 5, total = per_epoch * reference.result.epochs;
  // The first batch, mid-epoch, an epoch's last batch, the last epoch's middle and last batch.
  for (int batch : {1, 3, per_epoch, per_epoch + 1, 2 * per_epoch + 2, total - 2, total}) {
    fs::remove_all(dir_);
    bool stopped = false;
    const Outcome resumed = cut_and_resume(setup, Cut{batch, 0, 0, 0}, &stopped);
    EXPECT_TRUE(stopped) << "batch " << batch;
    expect_same(reference, resumed, "stopped after batch " + std::to_string(batch));
  }
}

TEST_F(FitCheckpoint, StoppedAtAnEpochsEndResumesBitIdentically) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  const Outcome reference = fit(setup, 1, "");
  for (int epoch = 1; epoch < reference.result.epochs; ++epoch) {
    fs::remove_all(dir_);
    bool stopped = false;
    const Outcome resumed = cut_and_resume(setup, Cut{0, epoch, 0, 0}, &stopped);
    EXPECT_TRUE(stopped) << "epoch " << epoch;
    expect_same(reference, resumed, "stopped after epoch " + std::to_string(epoch));
  }
  // After the last epoch there is nothing left to stop: the fit ends and writes its done file.
  fs::remove_all(dir_);
  bool stopped = true;
  const Outcome last = cut_and_resume(setup, Cut{0, reference.result.epochs, 0, 0}, &stopped);
  EXPECT_FALSE(stopped);
  expect_same(reference, last, "asked to stop after the last epoch");
}

TEST_F(FitCheckpoint, AdamStepScheduleAndPassesAcrossEpochsResumeBitIdentically) {
  const Scenario setup = adam_step_multi_pass();
  const Outcome reference = fit(setup, 1, "");
  ASSERT_EQ(reference.result.epochs, 4);
  ASSERT_NE(reference.records[3].lr, reference.records[0].lr);
  // 6 steps an epoch over passes of 4: batch 4 ends a pass, 5 is in the second, 6 ends the epoch.
  for (int batch : {2, 4, 5, 6, 9, 24}) {
    fs::remove_all(dir_);
    expect_same(reference, cut_and_resume(setup, Cut{batch, 0, 0, 0}),
                "stopped after batch " + std::to_string(batch));
  }
  fs::remove_all(dir_);
  expect_same(reference, cut_and_resume(setup, Cut{0, 2, 0, 0}), "stopped after epoch 2");
}

TEST_F(FitCheckpoint, KillBeforeAnEpochsCheckpointRepeatsThatEpochOnly) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  const Outcome reference = fit(setup, 1, "");
  for (int epoch : {1, 3}) {
    fs::remove_all(dir_);
    // A kill between epoch `epoch`'s record and its checkpoint: the file still says epoch - 1.
    Outcome first;
    TrainerCallbacks callbacks;
    callbacks.on_epoch = [&](const EpochRecord& r) {
      if (r.epoch == epoch) throw Killed();
    };
    EXPECT_THROW(fit(setup, 1, path_, nullptr, callbacks, &first), Killed);
    ASSERT_EQ(first.records.size(), static_cast<std::size_t>(epoch));  // the caller stored it
    std::vector<EpochRecord> kept = first.records;
    if (epoch == 1) {
      EXPECT_FALSE(fs::exists(path_));  // no epoch had ended: the next fit starts over
      kept.clear();
    } else {
      const FitCheckpointSummary summary = read_fit_checkpoint_summary(path_);
      EXPECT_EQ(summary.epochs_recorded, epoch - 1);
      kept.resize(static_cast<std::size_t>(summary.epochs_recorded));
    }
    // Without a file the next fit starts over, from the model the plan builds (seed 1).
    Outcome resumed = fit(setup, epoch == 1 ? 1 : 99, path_);
    ASSERT_FALSE(resumed.records.empty());
    EXPECT_EQ(resumed.records.front().epoch, epoch);  // that epoch again, and no earlier one
    // The repeated epoch gives the record the killed process had already stored.
    EXPECT_EQ(resumed.records.front().val_loss, first.records.back().val_loss);
    EXPECT_EQ(resumed.records.front().train_loss, first.records.back().train_loss);
    resumed.records.insert(resumed.records.begin(), kept.begin(), kept.end());
    expect_same(reference, resumed, "killed in epoch " + std::to_string(epoch) + "'s record");
  }
  // A kill mid-epoch (between two checkpoints) resumes from the last epoch's end.
  fs::remove_all(dir_);
  expect_same(reference, cut_and_resume(setup, Cut{0, 0, 0, 13}), "killed at batch 13");
}

TEST_F(FitCheckpoint, DoneFileGivesTheResultAndWeightsWithoutTraining) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  const Outcome original = fit(setup, 1, path_);
  const FitCheckpointSummary summary = read_fit_checkpoint_summary(path_);
  EXPECT_TRUE(summary.done);
  EXPECT_EQ(summary.epochs_recorded, original.result.epochs);
  EXPECT_EQ(summary.threads, 1);
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));

  torch::manual_seed(12345);  // the done file sets the generator as the fit left it
  auto model = make_model(setup, 99);
  TensorBatches train_data(data_.x_train, data_.y_train, 16, true, 5);
  TensorBatches val_data(data_.x_val, data_.y_val, 32, false, 5);
  CountingBatches train(train_data), val(val_data);
  int callbacks = 0;
  Trainer trainer(
      setup.settings, OutputMode::softmax, 1,
      {[&](const EpochRecord&) { ++callbacks; }, [&](const TrainProgress&) { ++callbacks; }});
  trainer.set_checkpointing({path_, [] { return true; }});
  Outcome replay;
  replay.result = trainer.fit(*model, groups_of(*model), train, val);
  replay.weights = testing::state_of(*model);
  replay.generator = cpu_generator_state();
  replay.records = original.records;
  expect_same(original, replay, "done file");
  EXPECT_EQ(callbacks, 0);
  EXPECT_EQ(train.starts + val.starts, 0);
  EXPECT_FALSE(model->is_training());
}

TEST_F(FitCheckpoint, AFileThatIsNotACheckpointIsRefusedInOneLine) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  const std::string refused = path_ +
                              ": error: not a tlr fit checkpoint; delete the file to start "
                              "the fit over";
  fs::create_directories(fs::path(path_).parent_path());
  std::ofstream(path_) << "hello\n";
  EXPECT_THROW_MSG(read_fit_checkpoint_summary(path_), Error, refused);
  EXPECT_THROW_MSG(fit(setup, 1, path_), Error, refused);

  // A libtorch archive of something else (a module saved with torch::save).
  auto model = make_model(setup, 1);
  torch::save(model->head, path_);
  EXPECT_THROW_MSG(fit(setup, 1, path_), Error, refused);
}

TEST_F(FitCheckpoint, ATruncatedOrCorruptCheckpointIsRefusedInOneLine) {
  const Scenario setup = rmsprop_plateau_early_stopping();
  EXPECT_THROW(fit(setup, 1, path_, [] { return true; }), CheckpointedStop);
  const auto size = fs::file_size(path_);
  fs::resize_file(path_, size - 100);
  EXPECT_THROW_MSG(read_fit_checkpoint_summary(path_), Error,
                   path_ + ": error: truncated tlr fit checkpoint: " + std::to_string(size - 100) +
                       " bytes, the header says " + std::to_string(size) +
                       "; delete the file to start the fit over");

  // The header is right, the archive behind it is not.
  auto header = [](const std::string& line) {
    std::string padded = line;
    padded.resize(127, ' ');
    return padded + '\n';
  };
  std::ofstream(path_, std::ios::binary | std::ios::trunc)
      << header("tlr-fit-checkpoint v1 done=0 epochs_recorded=0 threads=1 payload=16")
      << "0123456789abcdef";
  EXPECT_EQ(read_fit_checkpoint_summary(path_).epochs_recorded, 0);
  EXPECT_THROW_THAT(fit(setup, 1, path_), Error,
                    ::testing::AllOf(::testing::StartsWith(path_ + ": error: corrupt tlr fit "
                                                                   "checkpoint: "),
                                     ::testing::EndsWith("; delete the file to start the fit over"),
                                     ::testing::Not(::testing::HasSubstr("\n"))));

  // Another format version.
  std::ofstream(path_, std::ios::binary | std::ios::trunc)
      << header("tlr-fit-checkpoint v7 layout=new");
  EXPECT_THROW_MSG(read_fit_checkpoint_summary(path_), Error,
                   path_ +
                       ": error: tlr fit checkpoint format v7, this runner reads v1; delete "
                       "the file to start the fit over");

  EXPECT_THROW_MSG(read_fit_checkpoint_summary(path_ + ".missing"), Error,
                   path_ + ".missing: error: cannot open checkpoint: No such file or directory");
}

TEST_F(FitCheckpoint, ACheckpointOfAnotherModelNamesTheFirstTensorThatDiffers) {
  Scenario setup = rmsprop_plateau_early_stopping();
  EXPECT_THROW(fit(setup, 1, path_, [] { return true; }), CheckpointedStop);
  Scenario wider = setup;
  wider.hidden = 12;
  EXPECT_THROW_MSG(fit(wider, 1, path_), Error,
                   path_ +
                       ": error: checkpoint does not match the model: tensor 'head.2.weight' "
                       "is [16, 128] in the checkpoint, [12, 128] in the model; delete the "
                       "file to start the fit over");
  Scenario longer = setup;
  longer.extra = true;
  EXPECT_THROW_MSG(fit(longer, 1, path_), Error,
                   path_ +
                       ": error: checkpoint does not match the model: it has no tensor "
                       "'head.7.weight'; delete the file to start the fit over");
  Scenario other = setup;
  other.settings.epochs = 5;
  EXPECT_THROW_MSG(fit(other, 1, path_), Error,
                   path_ +
                       ": error: the checkpoint is of a fit of 8 epochs, this fit plans 5; "
                       "delete the file to start the fit over");
  other = setup;
  other.settings.optimizer.name = "adam";
  EXPECT_THROW_MSG(fit(other, 1, path_), Error,
                   path_ +
                       ": error: the checkpoint is of a fit with optimizer rmsprop, this fit "
                       "uses adam; delete the file to start the fit over");
}

TEST_F(FitCheckpoint, DropoutDrawsContinueFromTheSavedGenerator) {
  // The generator is the only random state: after restoring it, dropout masks repeat exactly.
  torch::manual_seed(3);
  torch::nn::Dropout dropout(0.5);
  const torch::Tensor state = cpu_generator_state();
  const torch::Tensor a = dropout->forward(torch::ones({64}));
  torch::manual_seed(4);
  set_cpu_generator_state(state);
  EXPECT_TRUE(torch::equal(dropout->forward(torch::ones({64})), a));
}

// Measures what the header of fit_checkpoint.h states about the size of a checkpoint.
TEST_F(FitCheckpoint, SizeIsWeightsOptimizerAndBestSnapshot) {
  torch::manual_seed(0);
  const torch::Tensor x = torch::randn({64, 512});
  const torch::Tensor y = (x.sum(1) > 0).to(torch::kLong);
  for (const char* name : {"rmsprop", "adam"}) {
    auto model = std::make_shared<Classifier>(
        nullptr, torch::nn::Sequential(torch::nn::Linear(512, 512), torch::nn::ReLU(),
                                       torch::nn::Linear(512, 512), torch::nn::ReLU(),
                                       torch::nn::Linear(512, 2)));
    double model_bytes = 0;
    for (const auto& [_, t] : model_tensors(*model)) model_bytes += t.numel() * t.element_size();
    TrainingSettings s;
    s.optimizer.name = name;
    s.epochs = 2;
    s.batch_size = 32;
    TensorBatches train(x, y, 32, true, 1), val(x, y, 64, false, 1);
    bool epoch_over = false;
    Trainer counting(s, OutputMode::softmax, 1,
                     {[&](const EpochRecord&) { epoch_over = true; }, nullptr});
    counting.set_checkpointing({path_, [&] { return epoch_over; }});
    const std::vector<ParamGroup> all = {ParamGroup{"all", model->parameters(), 1e-3}};
    EXPECT_THROW(counting.fit(*model, all, train, val), CheckpointedStop);
    const double during = fs::file_size(path_) / model_bytes;
    counting.set_checkpointing({path_, nullptr});
    counting.fit(*model, all, train, val);
    const double done = fs::file_size(path_) / model_bytes;
    std::cout << name << ": model " << model_bytes / 1e6 << " MB, checkpoint during the fit "
              << during << "x, done " << done << "x\n";
    const double expected = std::string(name) == "adam" ? 4.0 : 3.0;
    EXPECT_GT(during, expected);
    EXPECT_LT(during, expected + 0.05);
    EXPECT_GT(done, 1.0);
    EXPECT_LT(done, 1.05);
    fs::remove(path_);
  }
}

}  // namespace
}  // namespace tlr
