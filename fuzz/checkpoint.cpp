// Fuzz target: a fit checkpoint (engine/train/fit_checkpoint.h) as a resumed fit reads it:
// read_resume_point() over the folder holding it as fit-0.pt (the header line), then
// load_fit_checkpoint() (the header, then libtorch's archive) and, when it loads, what
// Trainer::fit does next with a Linear(2, 2) model and SGD: copy_named(), load_optimizer(), the
// generator state. Problems must be tlr::Error (libtorch's own c10::Error from the generator is
// accepted too), never a crash.
#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/run/resume_point.h"
#include "engine/train/fit_checkpoint.h"
#include "fuzz_support.h"
#include "tlr/error.h"

namespace {

namespace fs = std::filesystem;

struct Model {
  torch::nn::Linear linear{2, 2};
  torch::optim::SGD sgd{linear->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9)};
};

void write_seeds(const fs::path& out) {
  torch::manual_seed(1);
  Model m;
  auto loss = m.linear->forward(torch::ones({1, 2})).sum();
  loss.backward();
  m.sgd.step();  // momentum buffers: the optimizer's archive has state
  tlr::FitState state;
  state.summary.epochs_recorded = 1;
  state.summary.threads = 1;
  state.epochs = 3;
  state.optimizer = "sgd";
  state.epoch = 1;
  state.pass = 1;
  state.best_acc = 0.5;
  state.best = tlr::model_tensors(*m.linear);
  state.generator = tlr::cpu_generator_state();
  state.weights = tlr::model_tensors(*m.linear);
  fs::create_directories(out);
  tlr::save_fit_checkpoint((out / "mid-fit.pt").string(), state, &m.sgd);
  state.summary.done = true;
  state.summary.epochs_recorded = 3;
  state.epoch = 3;
  state.finished = true;
  tlr::save_fit_checkpoint((out / "done.pt").string(), state, nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  torch::set_num_threads(1);
  if (const char* out = tlr::fuzz::seed_dir()) {
    write_seeds(out);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const fs::path dir = tlr::fuzz::scratch_dir() / "checkpoints";
  fs::create_directories(dir);
  const std::string path = (dir / "fit-0.pt").string();
  tlr::fuzz::write_file(path, data, size);
  const tlr::ResumePoint point = tlr::read_resume_point(dir.string(), /*drop_unreadable=*/false);
  tlr::fuzz::note(tlr::describe_resume(point) + " " + point.problem);
  try {
    tlr::LoadedFitCheckpoint loaded = tlr::load_fit_checkpoint(path, torch::kCPU);
    static Model model;
    tlr::copy_named(path, tlr::model_tensors(*model.linear), loaded.state.weights);
    if (!loaded.state.best.empty()) {
      tlr::check_same_tensors(path, tlr::model_tensors(*model.linear), loaded.state.best);
    }
    if (!loaded.state.summary.done) tlr::load_optimizer(path, model.sgd, loaded.optimizer);
    try {
      tlr::set_cpu_generator_state(loaded.state.generator);
    } catch (const c10::Error&) {
      tlr::fuzz::note("generator state refused");
    }
    tlr::fuzz::note("loaded");
  } catch (const tlr::Error& e) {
    tlr::fuzz::note(e.what());
  }
  return 0;
}
