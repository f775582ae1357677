// Every dataset plugin describes its parameters: each property has a type, a description and,
// unless required, a default.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "datasets/plugin_harness.h"

namespace tlr::testing {
namespace {

class DatasetSchemaTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DatasetSchemaTest, EveryPropertyHasTypeDefaultAndDescription) {
  const std::string name = GetParam();
  PluginHarness plugin("tlr_dataset_" + name);
  EXPECT_EQ(plugin.plugin_name(), name);
  const ComponentInfo* info = plugin.registry().find(Kind::dataset, name);
  ASSERT_NE(info, nullptr);
  EXPECT_FALSE(info->summary.empty());
  const auto schema = nlohmann::json::parse(info->schema);
  EXPECT_EQ(schema.at("type"), "object");
  const auto required = schema.value("required", nlohmann::json::array());
  ASSERT_TRUE(schema.contains("properties"));
  for (const auto& [key, property] : schema.at("properties").items()) {
    EXPECT_TRUE(property.contains("type")) << name << "." << key;
    EXPECT_TRUE(property.contains("description")) << name << "." << key;
    const bool is_required =
        std::find(required.begin(), required.end(), nlohmann::json(key)) != required.end();
    EXPECT_NE(property.contains("default"), is_required) << name << "." << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Bundled, DatasetSchemaTest,
                         ::testing::Values("image_folder", "filename_labels", "idx", "cifar10"));

}  // namespace
}  // namespace tlr::testing
