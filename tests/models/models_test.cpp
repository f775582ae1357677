// Backbone and head plugins: block names, output shapes, tensor names, layer composition.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>
#include <tuple>

#include "models/plugin_harness.h"
#include "support/expect_throw.h"
#include "support/plugin_params.h"

namespace tlr {
namespace {

using Shape = std::vector<std::int64_t>;
using testing::make_backbone;
using testing::make_head;

Shape forward_shape(Backbone& backbone, const Shape& chw) {
  torch::NoGradGuard no_grad;
  backbone.eval();
  Shape input{2};
  input.insert(input.end(), chw.begin(), chw.end());
  auto sizes = backbone.forward(torch::zeros(input)).sizes().vec();
  sizes.erase(sizes.begin());
  return sizes;
}

std::int64_t parameter_count(const torch::nn::Module& module) {
  std::int64_t count = 0;
  for (const auto& p : module.parameters()) count += p.numel();
  return count;
}

bool has_tensor(const torch::nn::Module& module, const std::string& name) {
  for (const auto& p : module.named_parameters()) {
    if (p.key() == name) return true;
  }
  for (const auto& b : module.named_buffers()) {
    if (b.key() == name) return true;
  }
  return false;
}

// "Linear(8192, 512)", "ReLU", "Dropout(0.3)", ...: what a Keras summary would list.
std::vector<std::string> layers(const torch::nn::Sequential& head) {
  std::vector<std::string> out;
  for (const auto& module : head->children()) {
    std::string kind = module->name();
    kind = kind.substr(kind.rfind(':') + 1);
    if (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "Impl") == 0) {
      kind.resize(kind.size() - 4);
    }
    if (auto* linear = module->as<torch::nn::Linear>()) {
      kind += "(" + std::to_string(linear->options.in_features()) + ", " +
              std::to_string(linear->options.out_features()) + ")";
    } else if (auto* dropout = module->as<torch::nn::Dropout>()) {
      std::ostringstream p;
      p << dropout->options.p();
      kind += "(" + p.str() + ")";
    }
    out.push_back(kind);
  }
  return out;
}

// --- basic_cnn -----------------------------------------------------------------------------

TEST(BasicCnn, SeedModelAt150IsValidPaddedThreeBlocks) {
  auto cnn = make_backbone("basic_cnn", "{}");
  EXPECT_EQ(cnn->blocks(), (std::vector<std::string>{"block1_conv", "block1_pool", "block2_conv",
                                                     "block2_pool", "block3_conv", "block3_pool"}));
  // 150 -conv-> 148 -pool-> 74 -> 72 -> 36 -> 34 -> 17, as Keras reports for the seed's model.
  EXPECT_EQ(cnn->output_shape({3, 150, 150}), (Shape{128, 17, 17}));
  EXPECT_EQ(forward_shape(*cnn, {3, 150, 150}), (Shape{128, 17, 17}));
  EXPECT_TRUE(has_tensor(*cnn, "block2_conv.weight"));
  EXPECT_EQ(cnn->block_of("block2_conv.bias"), "block2_conv");
  // Keras parameter counts: 448 + 9280 + 73856.
  EXPECT_EQ(parameter_count(*cnn), 448 + 9280 + 73856);
}

TEST(BasicCnn, FourBlockVariant) {
  auto cnn = make_backbone("basic_cnn", R"({"widths": [16, 64, 128, 128]})");
  EXPECT_EQ(cnn->output_shape({3, 150, 150}), (Shape{128, 7, 7}));
  EXPECT_EQ(forward_shape(*cnn, {3, 150, 150}), (Shape{128, 7, 7}));
}

TEST(BasicCnn, SmallInputs) {
  auto cnn = make_backbone("basic_cnn", "{}");
  EXPECT_EQ(cnn->output_shape({3, 28, 28}), (Shape{128, 1, 1}));
  EXPECT_EQ(forward_shape(*cnn, {3, 28, 28}), (Shape{128, 1, 1}));
  EXPECT_EQ(cnn->output_shape({3, 32, 32}), (Shape{128, 2, 2}));
  EXPECT_EQ(forward_shape(*cnn, {3, 32, 32}), (Shape{128, 2, 2}));
  auto same = make_backbone("basic_cnn", R"({"padding": "same", "in_channels": 1})");
  EXPECT_EQ(same->output_shape({1, 28, 28}), (Shape{128, 3, 3}));
  EXPECT_EQ(forward_shape(*same, {1, 28, 28}), (Shape{128, 3, 3}));
}

TEST(BasicCnn, TooSmallInputIsNamed) {
  auto cnn = make_backbone("basic_cnn", R"({"widths": [16, 64, 128, 128]})");
  EXPECT_THROW_MSG(
      cnn->output_shape({3, 28, 28}), Error,
      "basic_cnn: error: input 28×28 is too small: block4_conv gets less than its kernel");
}

TEST(BasicCnn, SamePaddingNeedsAnOddKernel) {
  EXPECT_THROW_MSG(make_backbone("basic_cnn", R"({"padding": "same", "kernel_size": 4})"), Error,
                   "basic_cnn: error: kernel_size must be odd with 'same' padding");
  EXPECT_EQ(make_backbone("basic_cnn", R"({"padding": "same", "kernel_size": 5})")
                ->output_shape({3, 28, 28}),
            (Shape{128, 3, 3}));
}

TEST(BasicCnn, CutAfterPool) {
  auto cnn = make_backbone("basic_cnn", "{}");
  cnn->cut_after("block2_pool");
  EXPECT_EQ(cnn->output_shape({3, 150, 150}), (Shape{64, 36, 36}));
  EXPECT_EQ(forward_shape(*cnn, {3, 150, 150}), (Shape{64, 36, 36}));
}

// --- vgg -----------------------------------------------------------------------------------

TEST(Vgg, Vgg16BlocksAreKerasNames) {
  auto vgg = make_backbone("vgg", R"({"variant": "vgg16"})");
  EXPECT_EQ(vgg->blocks(),
            (std::vector<std::string>{"block1_conv1", "block1_conv2", "block1_pool", "block2_conv1",
                                      "block2_conv2", "block2_pool", "block3_conv1", "block3_conv2",
                                      "block3_conv3", "block3_pool", "block4_conv1", "block4_conv2",
                                      "block4_conv3", "block4_pool", "block5_conv1", "block5_conv2",
                                      "block5_conv3", "block5_pool"}));
  EXPECT_EQ(vgg->block_of("features.0.weight"), "block1_conv1");
  EXPECT_EQ(vgg->block_of("features.17.weight"), "block4_conv1");
  EXPECT_EQ(vgg->block_of("features.28.bias"), "block5_conv3");
  EXPECT_EQ(parameter_count(*vgg), 14714688);  // torchvision vgg16().features
}

TEST(Vgg, BatchNormTensorsBelongToTheirConvBlock) {
  auto vgg = make_backbone("vgg", R"({"variant": "vgg16", "batch_norm": true})");
  EXPECT_TRUE(has_tensor(*vgg, "features.25.running_mean"));
  EXPECT_EQ(vgg->block_of("features.24.weight"), "block4_conv1");
  EXPECT_EQ(vgg->block_of("features.25.running_mean"), "block4_conv1");
  EXPECT_EQ(vgg->blocks().size(), 18u);
}

TEST(Vgg, Vgg16At150GivesKerasShapes) {
  auto vgg = make_backbone("vgg", R"({"variant": "vgg16"})");
  EXPECT_EQ(vgg->output_shape({3, 150, 150}), (Shape{512, 4, 4}));
  EXPECT_EQ(vgg->output_shape({3, 32, 32}), (Shape{512, 1, 1}));
}

TEST(Vgg, CutAfterAnyBlock) {
  const std::vector<std::pair<std::string, Shape>> cuts = {
      {"block5_pool", {128, 4, 4}},   {"block5_conv3", {128, 9, 9}},
      {"block4_pool", {128, 9, 9}},   {"block4_conv1", {128, 18, 18}},
      {"block3_conv2", {64, 37, 37}}, {"block1_conv1", {16, 150, 150}}};
  for (const auto& [block, shape] : cuts) {
    auto vgg = make_backbone("vgg", R"({"variant": "vgg16", "width": 0.25})");
    vgg->cut_after(block);
    EXPECT_EQ(vgg->blocks().back(), block);
    EXPECT_EQ(vgg->output_shape({3, 150, 150}), shape) << block;
    EXPECT_EQ(forward_shape(*vgg, {3, 150, 150}), shape) << block;
  }
  auto full = make_backbone("vgg", R"({"variant": "vgg16"})");
  full->cut_after("block4_pool");
  EXPECT_EQ(full->output_shape({3, 150, 150}), (Shape{512, 9, 9}));
  // Dropped blocks keep their tensors registered, so full weight files still load.
  EXPECT_TRUE(has_tensor(*full, "features.28.weight"));
}

TEST(Vgg, UnknownBlockListsTheBlocks) {
  auto vgg = make_backbone("vgg", R"({"variant": "vgg11"})");
  EXPECT_THROW_THAT(vgg->cut_after("block6_pool"), Error,
                    ::testing::StartsWith("unknown block 'block6_pool'; blocks: block1_conv1, "));
}

TEST(Vgg, WidthMultiplier) {
  auto vgg = make_backbone("vgg", R"({"variant": "vgg16", "width": 0.25})");
  auto params = vgg->named_parameters();
  EXPECT_EQ(params["features.0.weight"].sizes().vec(), (Shape{16, 3, 3, 3}));
  EXPECT_EQ(params["features.28.weight"].sizes().vec(), (Shape{128, 128, 3, 3}));
  EXPECT_EQ(vgg->output_shape({3, 150, 150}), (Shape{128, 4, 4}));
  auto tiny = make_backbone("vgg", R"({"variant": "vgg11", "width": 0.001, "in_channels": 1})");
  EXPECT_EQ(tiny->output_shape({1, 32, 32}), (Shape{1, 1, 1}));
  EXPECT_EQ(forward_shape(*tiny, {1, 32, 32}), (Shape{1, 1, 1}));
}

TEST(Vgg, VariantsAndErrors) {
  EXPECT_EQ(make_backbone("vgg", R"({"variant": "vgg19"})")->blocks().size(), 21u);
  EXPECT_EQ(make_backbone("vgg", R"({"variant": "vgg13", "batch_norm": true})")->blocks().size(),
            15u);
  // An unknown variant is the schema's to refuse, before the plugin runs.
  EXPECT_EQ(testing::schema_problems(testing::model_registry(), Kind::backbone, "vgg",
                                     R"({"variant": "vgg17"})"),
            std::vector<std::string>{
                "'variant' must be one of vgg11, vgg13, vgg16, vgg19; got 'vgg17'; did you mean "
                "'vgg11'?"});
  auto vgg = make_backbone("vgg", "{}");
  EXPECT_THROW_MSG(vgg->output_shape({3, 31, 64}), Error,
                   "vgg: error: input 31×64 is too small; VGG needs at least 32×32");
}

// --- resnet --------------------------------------------------------------------------------

TEST(Resnet, BlocksAndBlockOf) {
  auto resnet = make_backbone("resnet", R"({"variant": "resnet18"})");
  EXPECT_EQ(resnet->blocks(), (std::vector<std::string>{"conv1", "bn1", "relu", "maxpool", "layer1",
                                                        "layer2", "layer3", "layer4"}));
  EXPECT_EQ(resnet->block_of("layer3.1.conv2.weight"), "layer3");
  EXPECT_EQ(resnet->block_of("layer2.0.downsample.1.running_var"), "layer2");
  EXPECT_EQ(resnet->block_of("bn1.running_mean"), "bn1");
  EXPECT_EQ(resnet->block_of("conv1.weight"), "conv1");
  EXPECT_FALSE(has_tensor(*resnet, "layer1.0.downsample.0.weight"));
  EXPECT_TRUE(has_tensor(*resnet, "layer2.0.downsample.0.weight"));
  EXPECT_FALSE(has_tensor(*resnet, "fc.weight"));
  EXPECT_EQ(parameter_count(*resnet), 11176512);  // resnet18 without fc
}

TEST(Resnet, OutputShapes) {
  auto r18 = make_backbone("resnet", R"({"variant": "resnet18", "width": 0.25})");
  for (std::int64_t size : {224, 150, 65, 33}) {
    EXPECT_EQ(r18->output_shape({3, size, size}), forward_shape(*r18, {3, size, size})) << size;
  }
  EXPECT_EQ(r18->output_shape({3, 224, 224}), (Shape{128, 7, 7}));
  auto r50 = make_backbone("resnet", R"({"variant": "resnet50"})");
  EXPECT_TRUE(has_tensor(*r50, "layer1.0.downsample.0.weight"));
  EXPECT_TRUE(has_tensor(*r50, "layer4.2.conv3.weight"));
  EXPECT_EQ(r50->output_shape({3, 64, 64}), (Shape{2048, 2, 2}));
  EXPECT_EQ(parameter_count(*r50), 25557032 - 2049000);  // resnet50 without fc
  auto r34 = make_backbone("resnet", R"({"variant": "resnet34"})");
  EXPECT_EQ(parameter_count(*r34), 21797672 - 513000);
  r34->cut_after("layer2");
  EXPECT_EQ(r34->output_shape({3, 64, 64}), (Shape{128, 8, 8}));
}

// --- mobilenet_v2 --------------------------------------------------------------------------

TEST(MobilenetV2, BlocksShapesAndNames) {
  auto net = make_backbone("mobilenet_v2", "{}");
  const auto blocks = net->blocks();
  ASSERT_EQ(blocks.size(), 19u);
  EXPECT_EQ(blocks.front(), "features.0");
  EXPECT_EQ(blocks.back(), "features.18");
  EXPECT_EQ(net->block_of("features.3.conv.1.0.weight"), "features.3");
  EXPECT_EQ(net->block_of("features.10.conv.3.running_mean"), "features.10");
  EXPECT_EQ(net->block_of("features.1.conv.2.weight"), "features.1");
  EXPECT_TRUE(has_tensor(*net, "features.1.conv.0.0.weight"));  // t=1: no expansion conv
  EXPECT_TRUE(has_tensor(*net, "features.18.1.running_var"));
  EXPECT_EQ(parameter_count(*net), 2223872);  // torchvision mobilenet_v2().features
  EXPECT_EQ(net->output_shape({3, 224, 224}), (Shape{1280, 7, 7}));
  for (std::int64_t size : {64, 65, 33}) {
    EXPECT_EQ(net->output_shape({3, size, size}), forward_shape(*net, {3, size, size})) << size;
  }
  net->cut_after("features.13");
  EXPECT_EQ(net->output_shape({3, 224, 224}), (Shape{96, 14, 14}));
}

TEST(MobilenetV2, WidthMult) {
  auto wide = make_backbone("mobilenet_v2", R"({"width_mult": 1.4})");
  EXPECT_EQ(wide->output_shape({3, 64, 64}), (Shape{1792, 2, 2}));
  auto narrow = make_backbone("mobilenet_v2", R"({"width_mult": 0.5})");
  EXPECT_EQ(narrow->output_shape({3, 64, 64}), (Shape{1280, 2, 2}));
  EXPECT_EQ(forward_shape(*narrow, {3, 64, 64}), (Shape{1280, 2, 2}));
}

// --- forward_blocks: running part of a backbone ----------------------------------------------

// Every bundled backbone split at each of its blocks: the leading blocks then the rest compute
// what the whole backbone computes, in eval mode and (BatchNorm in training mode) in train mode.
TEST(ForwardBlocks, LeadingBlocksThenTheRestEqualTheWholeBackbone) {
  const std::vector<std::tuple<std::string, std::string, Shape>> backbones = {
      {"basic_cnn", R"({"widths": [4, 8, 8]})", {3, 32, 32}},
      {"vgg", R"({"variant": "vgg11", "width": 0.125, "batch_norm": true})", {3, 32, 32}},
      {"resnet", R"({"variant": "resnet18", "width": 0.125})", {3, 33, 33}},
      {"mobilenet_v2", R"({"width_mult": 0.25})", {3, 33, 33}}};
  for (const auto& [plugin, params, chw] : backbones) {
    torch::manual_seed(3);
    std::shared_ptr<Backbone> net = make_backbone(plugin, params);
    ASSERT_TRUE(net->can_forward_blocks()) << plugin;
    const auto blocks = net->blocks();
    Shape input{2};
    input.insert(input.end(), chw.begin(), chw.end());
    const torch::Tensor x = torch::randn(input);
    torch::NoGradGuard no_grad;
    for (const bool training : {false, true}) {
      net->train(training);
      const torch::Tensor whole = net->forward(x);
      for (std::size_t cut = 1; cut < blocks.size(); ++cut) {
        BackboneBlocks leading(net, blocks.front(), blocks[cut - 1]);
        BackboneBlocks rest(net, blocks[cut], blocks.back());
        EXPECT_EQ(rest.blocks().front(), blocks[cut]);
        const torch::Tensor split = rest.forward(leading.forward(x));
        EXPECT_TRUE(torch::allclose(split, whole, 1e-4, 1e-5))
            << plugin << " split before " << blocks[cut] << (training ? " (train)" : " (eval)");
      }
    }
  }
}

TEST(ForwardBlocks, BackboneBlocksSharesTheTensorsAndNamesItsRange) {
  std::shared_ptr<Backbone> vgg = make_backbone("vgg", R"({"variant": "vgg11", "width": 0.125})");
  BackboneBlocks rest(vgg, "block3_conv1", "block5_pool");
  EXPECT_EQ(rest.blocks().front(), "block3_conv1");
  EXPECT_EQ(rest.blocks().back(), "block5_pool");
  EXPECT_EQ(rest.block_of("backbone.features.6.weight"), "block3_conv1");
  EXPECT_EQ(rest.block_of("backbone.features.0.weight"), "");  // block1_conv1: outside
  EXPECT_EQ(rest.parameters().size(), vgg->parameters().size());
  EXPECT_TRUE(rest.named_parameters()["backbone.features.6.weight"].is_same(
      vgg->named_parameters()["features.6.weight"]));
  rest.train(false);
  EXPECT_FALSE(vgg->is_training());  // one set of modules
  rest.cut_after("block4_pool");
  EXPECT_EQ(rest.blocks().back(), "block4_pool");
  EXPECT_EQ(rest.output_shape({16, 8, 8}), (Shape{64, 2, 2}));
  EXPECT_THROW_THAT(rest.cut_after("block1_pool"), Error,
                    ::testing::StartsWith("unknown block 'block1_pool'; blocks: block3_conv1, "));
  EXPECT_THROW_THAT(
      BackboneBlocks(vgg, "block4_pool", "block2_pool"), Error,
      ::testing::StartsWith("BackboneBlocks: no block range block4_pool to block2_pool; "
                            "blocks: block1_conv1, block1_pool, "));
}

// A backbone that runs only whole (the torchscript plugin's kind) says so.
TEST(ForwardBlocks, ABackboneThatRunsOnlyWholeIsRefused) {
  struct Whole : Backbone {
    torch::Tensor forward(torch::Tensor x) override { return x; }
    std::vector<std::string> blocks() const override { return {"a", "b"}; }
    std::string block_of(const std::string&) const override { return "a"; }
    void cut_after(const std::string&) override {}
  };
  auto whole = std::make_shared<Whole>();
  EXPECT_FALSE(whole->can_forward_blocks());
  EXPECT_THROW_MSG(
      whole->forward_blocks(torch::zeros({1}), "a", "a"), Error,
      "this backbone cannot run part of its forward pass (blocks a to a); it runs only "
      "whole");
  EXPECT_THROW_MSG(BackboneBlocks(whole, "b", "b"), Error,
                   "BackboneBlocks: this backbone cannot run part of its forward pass");
}

// --- heads ---------------------------------------------------------------------------------

TEST(DenseHead, SeedModel3Head) {
  // VGG16 bottleneck features → Dense512-Dropout0.3-Dense512-Dropout0.3 → one logit.
  auto head = make_head("dense", R"({"units": [512, 512], "dropout": 0.3})", {512, 4, 4}, 1);
  EXPECT_EQ(layers(head), (std::vector<std::string>{"Flatten", "Linear(8192, 512)", "ReLU",
                                                    "Dropout(0.3)", "Linear(512, 512)", "ReLU",
                                                    "Dropout(0.3)", "Linear(512, 1)"}));
  EXPECT_EQ(head->forward(torch::zeros({5, 512, 4, 4})).sizes().vec(), (Shape{5, 1}));
}

TEST(DenseHead, Seed004Head) {
  auto head = make_head("dense", R"({"units": [256], "dropout": 0.5})", {8192}, 1);
  EXPECT_EQ(layers(head), (std::vector<std::string>{"Flatten", "Linear(8192, 256)", "ReLU",
                                                    "Dropout(0.5)", "Linear(256, 1)"}));
}

TEST(DenseHead, ScratchModelHeadHasNoDropout) {
  auto head = make_head("dense", R"({"units": [512], "dropout": 0})", {128, 17, 17}, 1);
  EXPECT_EQ(layers(head),
            (std::vector<std::string>{"Flatten", "Linear(36992, 512)", "ReLU", "Linear(512, 1)"}));
}

TEST(DenseHead, DefaultsAndLists) {
  EXPECT_EQ(layers(make_head("dense", "{}", {10}, 3)),
            (std::vector<std::string>{"Flatten", "Linear(10, 512)", "ReLU", "Dropout(0.5)",
                                      "Linear(512, 3)"}));
  EXPECT_EQ(
      layers(make_head("dense", R"({"units": [8, 4], "dropout": [0.1, 0], "activation": "none"})",
                       {10}, 10)),
      (std::vector<std::string>{"Flatten", "Linear(10, 8)", "Dropout(0.1)", "Linear(8, 4)",
                                "Linear(4, 10)"}));
  EXPECT_EQ(layers(make_head("dense", R"({"units": []})", {2, 3}, 4)),
            (std::vector<std::string>{"Flatten", "Linear(6, 4)"}));
  EXPECT_THROW_MSG(make_head("dense", R"({"units": [8, 4], "dropout": [0.1]})", {10}, 1), Error,
                   "dense: error: dropout lists 1 rates for 2 hidden layers");
}

TEST(LinearHead, PoolsSpatialFeaturesLikeResnetFc) {
  auto head = make_head("linear", "{}", {512, 7, 7}, 30);
  EXPECT_EQ(layers(head),
            (std::vector<std::string>{"AdaptiveAvgPool2d", "Flatten", "Linear(512, 30)"}));
  EXPECT_EQ(head->forward(torch::zeros({2, 512, 7, 7})).sizes().vec(), (Shape{2, 30}));
  EXPECT_EQ(layers(make_head("linear", R"({"pool": "flatten"})", {512, 7, 7}, 30)),
            (std::vector<std::string>{"Flatten", "Linear(25088, 30)"}));
  EXPECT_EQ(layers(make_head("linear", "{}", {8192}, 1)),
            (std::vector<std::string>{"Flatten", "Linear(8192, 1)"}));
}

TEST(GapLinearHead, Composition) {
  auto head = make_head("gap_linear", R"({"dropout": 0.2})", {1280, 2, 2}, 10);
  EXPECT_EQ(layers(head), (std::vector<std::string>{"AdaptiveAvgPool2d", "Flatten", "Dropout(0.2)",
                                                    "Linear(1280, 10)"}));
  EXPECT_EQ(head->forward(torch::zeros({3, 1280, 2, 2})).sizes().vec(), (Shape{3, 10}));
  EXPECT_EQ(layers(make_head("gap_linear", "{}", {512, 4, 4}, 1)),
            (std::vector<std::string>{"AdaptiveAvgPool2d", "Flatten", "Linear(512, 1)"}));
  EXPECT_THROW_MSG(
      make_head("gap_linear", "{}", {8192}, 1), Error,
      "gap_linear: error: needs C×H×W features, got 1 axes (use the dense or linear head)");
}

TEST(Schemas, EveryParameterHasTypeDefaultAndDescription) {
  EXPECT_EQ(testing::model_registry().components().size(), 8u);
  for (const auto& component : testing::model_registry().components()) {
    const auto schema = nlohmann::json::parse(component.schema);
    EXPECT_EQ(schema.at("type"), "object") << component.name;
    EXPECT_FALSE(component.summary.empty()) << component.name;
    const auto required = schema.value("required", nlohmann::json::array());
    for (const auto& [key, property] : schema.at("properties").items()) {
      EXPECT_TRUE(property.contains("type") || property.contains("anyOf")) << key;
      EXPECT_TRUE(property.contains("description")) << component.name << "." << key;
      const bool is_required = std::find(required.begin(), required.end(), key) != required.end();
      EXPECT_TRUE(property.contains("default") || is_required) << component.name << "." << key;
    }
  }
}

}  // namespace
}  // namespace tlr
