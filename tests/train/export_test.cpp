#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/train/model_export.h"
#include "engine/train/module_layout.h"
#include "engine/weights/state_dict.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

using nlohmann::json;

std::filesystem::path temporary_dir(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("tlr_export_test_" + name + "_" + std::to_string(::getpid()));
}

ModelDescription tiny_description() {
  ModelDescription description;
  description.model_name = "tiny";
  description.config_json =
      R"({"backbone":{"plugin":"tiny","params":{"w":1}},"head":{"plugin":"h"}})";
  description.classes = {"T-shirt/top", "Shirt"};
  description.mode = OutputMode::sigmoid;
  description.input.channels = 3;
  description.input.height = description.input.width = 8;
  description.input.scale = 1.0 / 255;
  return description;
}

TEST(ModelExport, WritesAStateDictThatLoadsBackAndADescription) {
  torch::manual_seed(3);
  const auto dir = temporary_dir("roundtrip");
  auto backbone = std::make_shared<testing::TinyBackbone>();
  torch::nn::Sequential head(torch::nn::Flatten(), torch::nn::Linear(8 * 4 * 4, 1));
  const ExportedModel files = export_model(backbone, head, dir.string(), tiny_description());
  EXPECT_EQ(files.weights, (dir / "model.pth").string());

  torch::manual_seed(4);
  auto copy = std::make_shared<Classifier>(
      std::make_shared<testing::TinyBackbone>(),
      torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(8 * 4 * 4, 1)));
  load_state_dict(*copy, files.weights);
  Classifier original(backbone, head);
  EXPECT_TRUE(testing::changed(testing::state_of(original), testing::state_of(*copy)).empty());

  std::ifstream in(files.description);
  const json doc = json::parse(in);
  EXPECT_EQ(doc["format"], kModelFormat);
  EXPECT_EQ(doc["classes"], json({"T-shirt/top", "Shirt"}));
  EXPECT_EQ(doc["output"], "sigmoid");
  EXPECT_EQ(doc["output_units"], 1);
  EXPECT_EQ(doc["input"], "images");
  EXPECT_EQ(doc["preprocessing"]["size"], json({8, 8}));
  EXPECT_EQ(doc["preprocessing"]["mean"], json({0.0, 0.0, 0.0}));
  EXPECT_EQ(doc["preprocessing"]["std"], json({1.0, 1.0, 1.0}));
  EXPECT_EQ(doc["backbone"]["plugin"], "tiny");
  EXPECT_EQ(doc["backbone"]["blocks"], json({"block1_conv1", "block2_conv1"}));
  EXPECT_EQ(doc["head"]["plugin"], "h");
  EXPECT_EQ(doc["parameters"], doc["trainable_parameters"]);
  EXPECT_EQ(doc["tensors"][0]["name"], "backbone.block1.conv.weight");
  // ConvStage is a module of the test's own: no torch.nn layout, and the reason says so.
  EXPECT_TRUE(doc["layout"].is_null());
  EXPECT_NE(doc["layout_problem"].get<std::string>().find("no torch.nn equivalent"),
            std::string::npos)
      << doc["layout_problem"];
  EXPECT_FALSE(std::filesystem::exists(files.description + ".tmp"));
  std::filesystem::remove_all(dir);
}

TEST(ModelExport, AModelOnFeaturesIsRecordedAsNotTakingImages) {
  const auto dir = temporary_dir("features");
  ModelDescription description = tiny_description();
  description.not_images = "its test inputs are features of part of the backbone";
  torch::nn::Sequential head(torch::nn::Flatten(), torch::nn::Linear(8, 1));
  const ExportedModel files = export_model(nullptr, head, dir.string(), description);
  std::ifstream in(files.description);
  const json doc = json::parse(in);
  EXPECT_EQ(doc["input"], "features");
  EXPECT_EQ(doc["not_images"], description.not_images);
  EXPECT_TRUE(doc["backbone"].is_null());
  std::vector<std::string> keys;
  for (const auto& [name, tensor] : read_state_dict(files.weights)) keys.push_back(name);
  EXPECT_EQ(keys, (std::vector<std::string>{"head.1.weight", "head.1.bias"}));
  std::filesystem::remove_all(dir);
}

// A chain of stages like the bundled VGG (every stage a child of a registered Sequential) and
// basic_cnn (stateless stages not registered at all).
class ChainBackbone : public SequentialBackbone {
 public:
  ChainBackbone() {
    auto features = register_module("features", torch::nn::Sequential());
    auto add = [&](const std::string& block, torch::nn::AnyModule module) {
      features->push_back(module);
      add_stage(block, module, "features." + std::to_string(features->size() - 1) + ".");
    };
    add("block1_conv1", torch::nn::AnyModule(torch::nn::Conv2d(
                            torch::nn::Conv2dOptions(1, 4, 3).padding(1).bias(false))));
    add("block1_conv1", torch::nn::AnyModule(torch::nn::BatchNorm2d(4)));
    add("block1_conv1", torch::nn::AnyModule(torch::nn::ReLU(true)));
    add("block1_pool", torch::nn::AnyModule(torch::nn::MaxPool2d(2)));
    auto conv = register_module("block2_conv", torch::nn::Conv2d(4, 6, 3));
    add_stage("block2_conv", torch::nn::AnyModule(conv), "block2_conv.");
    add_stage("block2_conv", torch::nn::AnyModule(torch::nn::ReLU(true)), "");
    add_stage("block2_pool", torch::nn::AnyModule(torch::nn::AdaptiveAvgPool2d(1)), "");
  }
};

TEST(ModuleLayout, DescribesAChainOfStagesWithTheBackbonesOwnNames) {
  auto backbone = std::make_shared<ChainBackbone>();
  torch::nn::Sequential head(torch::nn::Flatten(), torch::nn::Linear(6, 5), torch::nn::ReLU(),
                             torch::nn::Dropout(0.25), torch::nn::Linear(5, 3));
  const ModuleLayout described = describe_classifier(backbone.get(), *head);
  ASSERT_TRUE(described.problem.empty()) << described.problem;
  const json& layout = described.layout;
  ASSERT_EQ(layout["children"].size(), 2u);
  const json& b = layout["children"][0];
  EXPECT_EQ(b["name"], "backbone");
  ASSERT_EQ(b["children"].size(), 4u);  // features, block2_conv, stage1, stage2
  EXPECT_EQ(b["children"][0]["name"], "features");
  EXPECT_EQ(b["children"][0]["children"].size(), 4u);
  const json& conv = b["children"][0]["children"][0];
  EXPECT_EQ(conv["name"], "0");
  EXPECT_EQ(conv["type"], "Conv2d");
  EXPECT_EQ(conv["kwargs"]["padding"], json({1, 1}));
  EXPECT_EQ(conv["kwargs"]["bias"], false);
  EXPECT_EQ(b["children"][0]["children"][1]["type"], "BatchNorm2d");
  EXPECT_EQ(b["children"][0]["children"][3]["kwargs"]["kernel_size"], json({2, 2}));
  EXPECT_EQ(b["children"][1]["name"], "block2_conv");
  EXPECT_EQ(b["children"][2]["type"], "ReLU");
  EXPECT_EQ(b["children"][3]["kwargs"]["output_size"], json({1, 1}));
  const json& h = layout["children"][1];
  EXPECT_EQ(h["name"], "head");
  EXPECT_EQ(h["children"][3]["kwargs"]["p"], 0.25);
  EXPECT_EQ(h["children"][4]["kwargs"]["in_features"], 5);

  // The layout's tensors are the classifier's, name for name.
  auto classifier = std::make_shared<Classifier>(backbone, head);
  std::vector<std::string> names;
  for (const auto& p : classifier->named_parameters()) names.push_back(p.key());
  for (const auto& t : classifier->named_buffers()) names.push_back(t.key());
  std::vector<std::string> listed = described.tensors;
  std::sort(names.begin(), names.end());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, names);
}

TEST(ModuleLayout, ACutBackboneListsOnlyTheTensorsItUses) {
  auto backbone = std::make_shared<ChainBackbone>();
  backbone->cut_after("block1_pool");
  torch::nn::Sequential head(torch::nn::Flatten(), torch::nn::Linear(4 * 2 * 2, 1));
  const ModuleLayout described = describe_classifier(backbone.get(), *head);
  ASSERT_TRUE(described.problem.empty()) << described.problem;
  for (const auto& name : described.tensors) {
    EXPECT_EQ(name.find("block2_conv"), std::string::npos) << name;
  }
  EXPECT_EQ(described.layout["children"][0]["children"].size(), 1u);
}

}  // namespace
}  // namespace tlr
