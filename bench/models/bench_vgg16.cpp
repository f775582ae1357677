// VGG16 at 150×150 through the vgg and dense plugins, as cats_vs_dogs_vgg16.yaml uses it
// (docs/experiments.md):
//   features  — frozen feature extraction (eval, no grad), images/s;
//   finetune  — one RMSprop step with blocks 4–5 and the Dense512-Dropout0.3-Dense512-Dropout0.3
//               head trainable (model 5), images/s.
//   conv_peak_gflops — the best GFLOP/s of any single VGG16 conv shape run alone (forward, fp32):
//               the conv peak libtorch reaches on this CPU, the yardstick of the two above.
// Both tasks compute in `precision` exactly as the runner does: the forward pass under
// tlr::AutocastScope (bf16: libtorch's CPU autocast to bfloat16), its output converted to fp32;
// the loss, backward() and the optimizer step outside it, on fp32 master weights.
// Usage: bench_vgg16 [threads] [batch] [size] [iterations] [fp32|bf16] (defaults 2 32 150 3 fp32).
// Prints "native_bf16 0|1" (tlr::cpu_has_native_bf16()), then "<name> <value> <precision>" lines:
// "features <img/s> <precision>", "finetune <img/s> <precision>" and, with fp32 only,
// "conv_peak_gflops <GFLOP/s> fp32" (the conv peak is an fp32 yardstick; a bf16 run skips it).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/config/component_params.h"
#include "core/plugins/loader.h"
#include "engine/util/cpu_allocator.h"
#include "tlr/sdk.h"

namespace {

// A bundled plugin, loaded and checked as the runner loads it.
void load_plugin(tlr::PluginLoader& loader, const std::string& target) {
  if (!loader.load_file(std::string(TLR_PLUGIN_DIR) + "/lib" + target + ".so")) {
    throw std::runtime_error(loader.problems_text());
  }
}

template <typename Step>
double images_per_second(Step step, int batch, int iterations) {
  step();  // warm-up: oneDNN primitive creation, allocations
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) step();
  const std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
  return batch * iterations / seconds.count();
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const int batch = argc > 2 ? std::atoi(argv[2]) : 32;
  const int size = argc > 3 ? std::atoi(argv[3]) : 150;
  const int iterations = argc > 4 ? std::atoi(argv[4]) : 3;
  const std::string precision_arg = argc > 5 ? argv[5] : "fp32";
  if (precision_arg != "fp32" && precision_arg != "bf16") {
    std::cerr << "bench_vgg16: precision is fp32 or bf16, not '" << precision_arg << "'\n";
    return 2;
  }
  const tlr::Precision precision =
      precision_arg == "bf16" ? tlr::Precision::bf16 : tlr::Precision::fp32;
  const char* name = tlr::precision_name(precision);
  const torch::Device device(torch::kCPU);
  std::cout << "native_bf16 " << (tlr::cpu_has_native_bf16() ? 1 : 0) << std::endl;
  tlr::use_caching_cpu_allocator();  // as the runner does (engine/util/cpu_allocator.h)
  torch::set_num_threads(threads);   // Debian's libtorch starts with 1
  torch::manual_seed(0);

  tlr::Registry registry;
  tlr::PluginLoader loader(registry);
  load_plugin(loader, "tlr_backbone_vgg");
  load_plugin(loader, "tlr_head_dense");
  const tlr::Context context;
  // Params as the runner passes them: the schema's defaults filled in.
  auto params = [&](tlr::Kind kind, const char* name, const char* json) {
    return tlr::config::params_with_defaults(registry, kind, name, nlohmann::json::parse(json));
  };
  auto backbone = registry.make_backbone(
      "vgg", params(tlr::Kind::backbone, "vgg", R"({"variant": "vgg16"})"), context);
  const auto features_shape = backbone->output_shape({3, size, size});
  auto head =
      registry
          .make_head("dense",
                     params(tlr::Kind::head, "dense", R"({"units": [512, 512], "dropout": 0.3})"),
                     context)
          ->build(features_shape, 1);
  const torch::Tensor images = torch::rand({batch, 3, size, size});
  const torch::Tensor labels = torch::randint(0, 2, {batch, 1}).to(torch::kFloat);

  // As engine/data/feature_extraction.cpp: no grad, eval, forward under autocast, stored fp32.
  backbone->eval();
  const double features = images_per_second(
      [&] {
        torch::NoGradGuard no_grad;
        torch::Tensor out;
        {
          tlr::AutocastScope autocast(precision, device);
          out = backbone->forward(images);
        }
        out = out.to(torch::kFloat);
      },
      batch, iterations);
  std::cout << "features " << features << " " << name << std::endl;

  // Model 5: the blocks from block4_conv1 on train, the earlier ones are frozen.
  const auto blocks = backbone->blocks();
  const auto first = std::find(blocks.begin(), blocks.end(), "block4_conv1");
  std::vector<torch::Tensor> trainable;
  for (auto& p : backbone->named_parameters()) {
    const bool train = std::find(first, blocks.end(), backbone->block_of(p.key())) != blocks.end();
    p.value().set_requires_grad(train);
    if (train) trainable.push_back(p.value());
  }
  for (auto& p : head->parameters()) trainable.push_back(p);
  torch::optim::RMSprop optimizer(trainable,
                                  torch::optim::RMSpropOptions(1e-5).alpha(0.9).eps(1e-7));
  backbone->train();
  head->train();
  // As the trainer's step (engine/train/forward_pass.cpp): the forward pass under autocast, the
  // logits back to fp32, the loss, backward() and the step outside it.
  const double finetune = images_per_second(
      [&] {
        optimizer.zero_grad();
        torch::Tensor logits;
        {
          tlr::AutocastScope autocast(precision, device);
          logits = head->forward(backbone->forward(images));
        }
        logits = logits.to(torch::kFloat);
        auto loss = torch::binary_cross_entropy_with_logits(logits, labels);
        loss.backward();
        optimizer.step();
      },
      batch, iterations);
  std::cout << "finetune " << finetune << " " << name << std::endl;
  if (precision != tlr::Precision::fp32) return 0;

  // The conv peak: each of VGG16's conv shapes at this input size alone (forward, batch `batch`),
  // the best GFLOP/s libtorch reaches on this CPU for a VGG convolution.
  struct Shape {
    std::int64_t in, out, side;
  };
  std::vector<Shape> shapes;
  std::int64_t side = size, in = 3;
  for (const std::int64_t out :
       {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512}) {
    if (out == 0) {
      side /= 2;
      continue;
    }
    shapes.push_back({in, out, side});
    in = out;
  }
  double peak = 0;
  for (const Shape& shape : shapes) {
    torch::nn::Conv2d conv(torch::nn::Conv2dOptions(shape.in, shape.out, 3).padding(1));
    const torch::Tensor x = torch::rand({batch, shape.in, shape.side, shape.side});
    const double rate = images_per_second(
        [&] {
          torch::NoGradGuard no_grad;
          conv->forward(x);
        },
        batch, iterations);
    const double flop = 2.0 * 9 * shape.in * shape.out * shape.side * shape.side;
    peak = std::max(peak, rate * flop / 1e9);
  }
  std::cout << "conv_peak_gflops " << peak << " fp32" << std::endl;
  return 0;
}
