// Parity with torchvision: weights saved by Python's torch.save (as torchvision publishes them, and
// in the legacy format) load by name into our backbones, which then compute what torchvision
// computes. The reference files come from make_parity_files.py run by /usr/bin/python3.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/weights/state_dict.h"
#include "models/plugin_harness.h"
#include "support/expect_throw.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

constexpr double kTolerance = 1e-4;

int run(const std::string& command) { return std::system(command.c_str()); }

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The reference files, made once per build tree and script version: ctest runs every test in
// its own process, and writing them takes a while. Made in a fresh folder and renamed into place,
// so concurrent test processes never see half-written files.
class TorchvisionParity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    torch::set_num_threads(1);
    if (run("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") != 0) {
      skip_reason_ = new std::string("/usr/bin/python3 cannot import torch and torchvision");
      return;
    }
    const std::string script = std::string(TLR_SOURCE_DIR) + "/tests/models/make_parity_files.py";
    const std::string cache = std::string(TLR_BUILD_DIR) + "/tests/models/parity_files";
    const std::string wanted = read_text(script);
    if (read_text(cache + "/make_parity_files.py") != wanted) {
      fs::create_directories(fs::path(cache).parent_path());
      std::string fresh = cache + ".XXXXXX";
      if (mkdtemp(fresh.data()) == nullptr) {
        failure_ = new std::string("cannot create a folder next to " + cache);
        return;
      }
      const std::string log = fresh + "/python.log";
      if (run("cd " + fresh + " && /usr/bin/python3 " + script + " " + fresh + " >" + log +
              " 2>&1") != 0) {
        failure_ = new std::string("make_parity_files.py failed:\n" + read_text(log));
        return;
      }
      fs::copy_file(script, fresh + "/make_parity_files.py");
      std::error_code ignored;
      if (read_text(cache + "/make_parity_files.py") != wanted) fs::remove_all(cache, ignored);
      fs::rename(fresh, cache, ignored);
      if (ignored) fs::remove_all(fresh, ignored);  // another process got there first
    }
    dir_ = new std::string(cache);
    char pattern[] = "/tmp/tlr_models_parity_XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      failure_ = new std::string("cannot create a temporary folder");
      return;
    }
    scratch_ = new std::string(pattern);
    reference_ = new std::map<std::string, torch::Tensor>();
    for (auto& [name, tensor] : read_state_dict(*dir_ + "/reference.pth")) {
      (*reference_)[name] = tensor;
    }
  }

  static void TearDownTestSuite() {
    if (scratch_ != nullptr) fs::remove_all(*scratch_);
  }

  void SetUp() override {
    if (skip_reason_ != nullptr) GTEST_SKIP() << *skip_reason_;
    ASSERT_EQ(failure_, nullptr) << *failure_;
  }

  // A reference file made by the script.
  static std::string file(const std::string& name) { return *dir_ + "/" + name; }
  // A file a test writes.
  static std::string scratch(const std::string& name) { return *scratch_ + "/" + name; }
  static const torch::Tensor& reference(const std::string& name) { return reference_->at(name); }

  // Loads `weights` into the backbone, runs the reference input in eval mode, and returns the
  // largest absolute difference from the reference output `expected`.
  static double parity_error(Backbone& backbone, const std::string& weights,
                             const std::vector<std::string>& skip, const std::string& expected) {
    load_state_dict(backbone, file(weights), skip);
    backbone.eval();
    torch::NoGradGuard no_grad;
    const torch::Tensor out = backbone.forward(reference("input"));
    const torch::Tensor& want = reference(expected);
    EXPECT_EQ(out.sizes(), want.sizes()) << expected;
    if (out.sizes() != want.sizes()) return 1e9;
    const double error = (out - want).abs().max().item<double>();
    std::cout << "[ parity   ] " << expected << " from " << weights << ": max abs error " << error
              << " (output max " << want.abs().max().item<double>() << ")\n";
    return error;
  }

  static std::string* dir_;
  static std::string* scratch_;
  static std::string* skip_reason_;
  static std::string* failure_;
  static std::map<std::string, torch::Tensor>* reference_;
};

std::string* TorchvisionParity::dir_ = nullptr;
std::string* TorchvisionParity::scratch_ = nullptr;
std::string* TorchvisionParity::skip_reason_ = nullptr;
std::string* TorchvisionParity::failure_ = nullptr;
std::map<std::string, torch::Tensor>* TorchvisionParity::reference_ = nullptr;

TEST_F(TorchvisionParity, Vgg16Features) {
  auto vgg = testing::make_backbone("vgg", R"({"variant": "vgg16"})");
  EXPECT_LE(parity_error(*vgg, "vgg16.pth", {"classifier."}, "vgg16"), kTolerance);
}

TEST_F(TorchvisionParity, Vgg11BnFeaturesInEvalMode) {
  auto vgg = testing::make_backbone("vgg", R"({"variant": "vgg11", "batch_norm": true})");
  EXPECT_LE(parity_error(*vgg, "vgg11_bn.pth", {"classifier."}, "vgg11_bn"), kTolerance);
}

TEST_F(TorchvisionParity, Vgg11BnFromLegacyFormat) {
  auto vgg = testing::make_backbone("vgg", R"({"variant": "vgg11", "batch_norm": true})");
  EXPECT_LE(parity_error(*vgg, "vgg11_bn_legacy.pth", {"classifier."}, "vgg11_bn"), kTolerance);
}

TEST_F(TorchvisionParity, Resnet18UpToLayer4) {
  auto resnet = testing::make_backbone("resnet", R"({"variant": "resnet18"})");
  EXPECT_LE(parity_error(*resnet, "resnet18.pth", {"fc."}, "resnet18"), kTolerance);
}

TEST_F(TorchvisionParity, MobilenetV2Features) {
  auto net = testing::make_backbone("mobilenet_v2", "{}");
  EXPECT_LE(parity_error(*net, "mobilenet_v2.pth", {"classifier."}, "mobilenet_v2"), kTolerance);
}

TEST_F(TorchvisionParity, MobilenetV2FromLegacyFormat) {
  auto net = testing::make_backbone("mobilenet_v2", "{}");
  EXPECT_LE(parity_error(*net, "mobilenet_v2_legacy.pth", {"classifier."}, "mobilenet_v2"),
            kTolerance);
}

TEST_F(TorchvisionParity, LegacyAndZipFilesHoldTheSameTensors) {
  const NamedTensors zip = read_state_dict(file("vgg11_bn.pth"));
  const NamedTensors legacy = read_state_dict(file("vgg11_bn_legacy.pth"));
  ASSERT_EQ(zip.size(), legacy.size());
  EXPECT_EQ(zip.front().first, "features.0.weight");  // torchvision's order
  for (std::size_t i = 0; i < zip.size(); ++i) {
    EXPECT_EQ(zip[i].first, legacy[i].first);
    EXPECT_EQ(zip[i].second.scalar_type(), legacy[i].second.scalar_type()) << zip[i].first;
    EXPECT_TRUE(torch::equal(zip[i].second, legacy[i].second)) << zip[i].first;
  }
}

TEST_F(TorchvisionParity, ClassifierKeysAreUnexpectedUnlessSkipped) {
  auto vgg = testing::make_backbone("vgg", R"({"variant": "vgg16"})");
  EXPECT_THROW_MSG(
      load_state_dict(*vgg, file("vgg16.pth")), Error,
      file("vgg16.pth") +
          ": error: unexpected key 'classifier.0.weight': the model has no such tensor (to "
          "ignore it, skip 'classifier.')");
}

TEST_F(TorchvisionParity, WrongArchitectureNamesTheFirstKey) {
  auto narrow = testing::make_backbone("vgg", R"({"variant": "vgg16", "width": 0.25})");
  EXPECT_THROW_MSG(
      load_state_dict(*narrow, file("vgg16.pth"), {"classifier."}), Error,
      file("vgg16.pth") +
          ": error: shape mismatch for 'features.0.weight': file has [64, 3, 3, 3], model "
          "has [16, 3, 3, 3]");
  auto bn = testing::make_backbone("vgg", R"({"variant": "vgg16", "batch_norm": true})");
  EXPECT_THROW_THAT(
      load_state_dict(*bn, file("vgg16.pth"), {"classifier."}), Error,
      ::testing::StartsWith(file("vgg16.pth") + ": error: missing key 'features.1.weight': "));
}

TEST_F(TorchvisionParity, TruncatedFilesFailWithThePath) {
  for (const std::string name : {"vgg11_bn.pth", "vgg11_bn_legacy.pth"}) {
    const std::string cut = scratch("cut_" + name);
    fs::copy_file(file(name), cut);
    fs::resize_file(cut, fs::file_size(cut) / 2);
    EXPECT_THROW_THAT(read_state_dict(cut), Error,
                      ::testing::AllOf(::testing::StartsWith(cut + ": error: "),
                                       ::testing::HasSubstr("truncated")));
  }
}

TEST_F(TorchvisionParity, TorchscriptBackbone) {
  auto trunk =
      testing::make_backbone("torchscript", R"({"file": ")" + file("resnet18_trunk.pt") + R"("})");
  EXPECT_EQ(trunk->blocks(), (std::vector<std::string>{"conv1", "bn1", "relu", "maxpool", "layer1",
                                                       "layer2", "layer3", "layer4"}));
  EXPECT_EQ(trunk->block_of("layer3.1.conv2.weight"), "layer3");
  trunk->eval();
  torch::NoGradGuard no_grad;
  const double error =
      (trunk->forward(reference("input")) - reference("resnet18")).abs().max().item<double>();
  std::cout << "[ parity   ] resnet18 via torchscript: max abs error " << error << "\n";
  EXPECT_LE(error, kTolerance);
  EXPECT_EQ(trunk->output_shape({3, 64, 64}), (std::vector<std::int64_t>{512, 2, 2}));
  // The jit module's tensors carry torchvision's names: the published state dict loads as is.
  EXPECT_LE(parity_error(*trunk, "resnet18.pth", {"fc."}, "resnet18"), kTolerance);

  trunk->cut_after("layer2");
  EXPECT_EQ(trunk->blocks().back(), "layer2");
  const double cut_error = (trunk->forward(reference("input")) - reference("resnet18_layer2"))
                               .abs()
                               .max()
                               .item<double>();
  EXPECT_LE(cut_error, kTolerance);
}

TEST_F(TorchvisionParity, TorchscriptParametersAreTheModulesOwn) {
  auto trunk =
      testing::make_backbone("torchscript", R"({"file": ")" + file("resnet18_trunk.pt") + R"("})");
  std::int64_t count = 0;
  for (const auto& p : trunk->parameters()) count += p.numel();
  EXPECT_EQ(count, 11176512);
  // Freezing through the wrapper freezes the TorchScript module: no gradient reaches it.
  for (auto& p : trunk->named_parameters()) {
    if (trunk->block_of(p.key()) != "layer4") p.value().set_requires_grad(false);
  }
  trunk->train();
  trunk->forward(reference("input")).sum().backward();
  for (const auto& p : trunk->named_parameters()) {
    EXPECT_EQ(p.value().grad().defined(), trunk->block_of(p.key()) == "layer4") << p.key();
  }
  // A step on the wrapper's parameters changes what the module computes.
  trunk->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor before = trunk->forward(reference("input"));
  for (auto& p : trunk->named_parameters()) {
    if (p.key() == "layer4.1.bn2.bias") p.value().add_(1.0);
  }
  EXPECT_GT((trunk->forward(reference("input")) - before).abs().max().item<double>(), 0.5);
}

TEST_F(TorchvisionParity, TorchscriptRefusesToCutANonSequentialModule) {
  auto net =
      testing::make_backbone("torchscript", R"({"file": ")" + file("two_paths.pt") + R"("})");
  EXPECT_EQ(net->blocks(), (std::vector<std::string>{"left", "right"}));
  net->cut_after("right");  // the whole module: nothing to cut
  EXPECT_THROW_THAT(net->cut_after("left"), Error,
                    ::testing::StartsWith(file("two_paths.pt") +
                                          ": error: cannot cut after 'left': the module ("));
}

TEST_F(TorchvisionParity, TorchscriptMissingFile) {
  // The rest of the message is libtorch's.
  EXPECT_THROW_THAT(
      testing::make_backbone("torchscript", R"({"file": ")" + file("nope.pt") + R"("})"), Error,
      ::testing::StartsWith(file("nope.pt") + ": error: cannot load TorchScript module: "));
}

TEST_F(TorchvisionParity, TorchscriptArchiveIsNotAStateDict) {
  EXPECT_THROW_MSG(read_state_dict(file("two_paths.pt")), Error,
                   file("two_paths.pt") +
                       ": error: a TorchScript archive (torch.jit.save), not a state dict; use the "
                       "torchscript backbone for it");
}

TEST_F(TorchvisionParity, CheckpointYieldsItsStateDict) {
  const NamedTensors tensors = read_state_dict(file("checkpoint.pth"));
  ASSERT_EQ(tensors.size(), 4u);
  EXPECT_EQ(tensors[0].first, "left.weight");
  EXPECT_EQ(tensors[0].second.sizes().vec(), (std::vector<std::int64_t>{4, 3, 3, 3}));
}

TEST_F(TorchvisionParity, SavedFilesLoadInPython) {
  const std::string path = scratch("ours.pth");
  NamedTensors tensors = {{"a.weight", torch::arange(6, torch::kFloat).reshape({2, 3}).t()},
                          {"a.count", torch::tensor(int64_t{7})},
                          {"b.mask", torch::tensor({true, false})},
                          {"b.half", torch::full({3}, 0.5, torch::kHalf)}};
  save_state_dict(path, tensors);
  const std::string check =
      "import torch; d = torch.load('" + path +
      "'); assert list(d) == ['a.weight', 'a.count', 'b.mask', 'b.half'], list(d); "
      "assert d['a.weight'].tolist() == [[0, 3], [1, 4], [2, 5]], d['a.weight']; "
      "assert d['a.count'].item() == 7 and d['a.count'].dtype == torch.int64; "
      "assert d['b.mask'].tolist() == [True, False]; "
      "assert d['b.half'].dtype == torch.float16 and d['b.half'].tolist() == [0.5] * 3";
  EXPECT_EQ(run("/usr/bin/python3 -c \"" + check + "\""), 0);
}

}  // namespace
}  // namespace tlr
