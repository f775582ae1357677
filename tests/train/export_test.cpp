#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/train/model_export.h"
#include "train/fixtures.h"

namespace tlr {
namespace {

TEST(ModelExport, WritesWeightsThatLoadBackAndADescription) {
  torch::manual_seed(3);
  const auto dir =
      std::filesystem::temp_directory_path() / ("tlr_export_test_" + std::to_string(::getpid()));
  auto backbone = std::make_shared<testing::TinyBackbone>();
  Classifier model(backbone,
                   torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(8 * 4 * 4, 1)));
  ModelDescription description;
  description.model_name = "tiny";
  description.config_json = R"({"backbone":{"plugin":"tiny"}})";
  description.classes = {"T-shirt/top", "Shirt"};
  description.mode = OutputMode::sigmoid;
  description.input_shape = {3, 8, 8};
  const ExportedModel files = export_model(model, dir.string(), description);
  EXPECT_EQ(files.weights, (dir / "model.pt").string());

  torch::manual_seed(4);
  Classifier copy(std::make_shared<testing::TinyBackbone>(),
                  torch::nn::Sequential(torch::nn::Flatten(), torch::nn::Linear(8 * 4 * 4, 1)));
  torch::serialize::InputArchive archive;
  archive.load_from(files.weights);
  copy.load(archive);
  EXPECT_TRUE(testing::changed(testing::state_of(model), testing::state_of(copy)).empty());

  std::ifstream in(files.description);
  const nlohmann::json doc = nlohmann::json::parse(in);
  EXPECT_EQ(doc["classes"], nlohmann::json({"T-shirt/top", "Shirt"}));
  EXPECT_EQ(doc["output"], "sigmoid");
  EXPECT_EQ(doc["output_units"], 1);
  EXPECT_EQ(doc["config"]["backbone"]["plugin"], "tiny");
  EXPECT_EQ(doc["parameters"], doc["trainable_parameters"]);
  EXPECT_EQ(doc["tensors"][0]["name"], "backbone.block1.conv.weight");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tlr
