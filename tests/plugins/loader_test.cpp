#include "core/plugins/loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "tlr/error.h"

namespace tlr {
namespace {

std::string fixture(const std::string& name) {
  return std::string(TLR_FIXTURE_DIR) + "/libfixture_" + name + ".so";
}

TEST(Loader, LoadsGoodPluginAndBuildsItsComponents) {
  Registry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load_file(fixture("good"))) << loader.problems_text();
  ASSERT_EQ(loader.loaded().size(), 1u);
  EXPECT_EQ(loader.loaded()[0].name, "fixture_good");
  EXPECT_EQ(loader.loaded()[0].version, "1.2.3");

  const ComponentInfo* info = registry.find(Kind::backbone, "fixture_tiny");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->library, fixture("good"));
  EXPECT_EQ(info->plugin_version, "1.2.3");
  EXPECT_EQ(info->summary, "a one-conv test backbone");

  auto backbone = registry.make_backbone("fixture_tiny", Params::from_json(R"({"width":5})"), {});
  EXPECT_EQ(backbone->blocks(), (std::vector<std::string>{"conv", "pool"}));
  EXPECT_EQ(backbone->output_shape({3, 10, 10}), (std::vector<int64_t>{5, 4, 4}));
  EXPECT_EQ(backbone->block_of("conv.weight"), "conv");
  auto head = registry.make_head("fixture_flat", Params(), {});
  auto seq = head->build({5, 4, 4}, 1);
  EXPECT_EQ(seq->forward(torch::zeros({2, 5, 4, 4})).sizes(), (std::vector<int64_t>{2, 1}));
}

TEST(Loader, LoadingTheSameFileTwiceIsANoOp) {
  Registry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load_file(fixture("good")));
  ASSERT_TRUE(loader.load_file(fixture("good")));
  EXPECT_TRUE(loader.problems().empty());
  EXPECT_EQ(registry.components().size(), 2u);
}

void expect_refused(const std::string& name, const std::string& message) {
  Registry registry;
  PluginLoader loader(registry);
  EXPECT_FALSE(loader.load_file(fixture(name)));
  ASSERT_EQ(loader.problems().size(), 1u);
  EXPECT_EQ(loader.problems()[0].message, message);
  EXPECT_TRUE(registry.components().empty());
}

TEST(Loader, LoaderRejectsWrongAbi) {
  expect_refused("wrong_abi", fixture("wrong_abi") + ": error: plugin ABI version " +
                                  std::to_string(TLR_ABI_VERSION + 1) + ", runner supports " +
                                  std::to_string(TLR_ABI_VERSION) +
                                  "; rebuild it against this SDK");
}

TEST(Loader, LoaderRejectsWrongTorchVersion) {
  expect_refused("wrong_torch", fixture("wrong_torch") +
                                    ": error: plugin built against libtorch 1.12.1, runner uses " +
                                    TORCH_VERSION + "; rebuild it against this SDK");
}

TEST(Loader, LoaderRejectsLibraryWithoutEntryPoint) {
  expect_refused("no_entry", fixture("no_entry") +
                                 ": error: not a tlr plugin: no 'tlr_plugin_info' entry point; add "
                                 "TLR_PLUGIN(name, version, register_fn) to one source file");
}

TEST(Loader, LoaderRejectsUnresolvedSymbolsAtLoad) {
  expect_refused("unresolved", fixture("unresolved") +
                                   ": error: cannot load plugin: " + fixture("unresolved") +
                                   ": undefined symbol: tlr_fixture_function_nobody_defines");
}

TEST(Loader, LoaderRejectsFailingRegistrationAndKeepsNothingOfIt) {
  expect_refused("throws", fixture("throws") +
                               ": error: registration failed: schema of 'fixture_broken' is not "
                               "valid JSON");
}

TEST(Loader, LoaderRejectsDuplicateComponentName) {
  Registry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load_file(fixture("good")));
  EXPECT_FALSE(loader.load_file(fixture("duplicate")));
  ASSERT_EQ(loader.problems().size(), 1u);
  EXPECT_EQ(loader.problems()[0].message,
            fixture("duplicate") +
                ": error: duplicate backbone 'fixture_tiny', already registered by " +
                fixture("good"));
  // The first registration is untouched.
  EXPECT_EQ(registry.find(Kind::backbone, "fixture_tiny")->library, fixture("good"));
}

TEST(Loader, MissingFileAndFolderAreProblemsNotCrashes) {
  Registry registry;
  PluginLoader loader(registry);
  EXPECT_FALSE(loader.load_file("/nonexistent/libx.so"));
  loader.load_directory("/nonexistent/plugins");
  ASSERT_EQ(loader.problems().size(), 2u);
  EXPECT_EQ(loader.problems()[0].message, "/nonexistent/libx.so: error: no such file");
  EXPECT_TRUE(loader.problems()[0].refused);
  // A folder that does not exist refuses nothing: a warning, one vocabulary.
  EXPECT_EQ(loader.problems()[1].message,
            "/nonexistent/plugins: warning: plugin folder does not exist");
  EXPECT_FALSE(loader.problems()[1].refused);
  EXPECT_FALSE(loader.problems()[1].message.find("error") != std::string::npos);
}

TEST(Loader, DirectoryLoadRefusesBadLibrariesAndKeepsGoodOnes) {
  Registry registry;
  PluginLoader loader(registry);
  loader.load_directory(TLR_FIXTURE_DIR);
  // good loads; duplicate, no_entry, throws, unresolved, wrong_abi, wrong_torch are refused.
  EXPECT_EQ(loader.loaded().size(), 1u);
  EXPECT_EQ(loader.problems().size(), 6u);
  EXPECT_NE(registry.find(Kind::backbone, "fixture_tiny"), nullptr);
  EXPECT_EQ(registry.find(Kind::head, "fixture_half"), nullptr);
}

// TLR_PLUGIN_PATH comes before the runner's own folder (and explicit folders, loaded by the
// command line before these, before both).
TEST(Loader, SearchPathPutsTheEnvironmentBeforeTheRunnersFolder) {
  setenv("TLR_PLUGIN_PATH", "/a:/b", 1);
  auto dirs = PluginLoader::default_search_path();
  unsetenv("TLR_PLUGIN_PATH");
  ASSERT_GE(dirs.size(), 3u);
  EXPECT_EQ(dirs[0], "/a");
  EXPECT_EQ(dirs[1], "/b");
  EXPECT_EQ(dirs[2], (std::filesystem::path(executable_dir()) / ".." / "lib" / "tlr" / "plugins")
                         .lexically_normal()
                         .string());
}

// Two folders holding the same library (a stale copy on TLR_PLUGIN_PATH, say): the folder loaded
// first wins, and each skipped component is a warning naming both files.
TEST(Loader, AnEarlierFolderWinsOverALaterOneWithAWarning) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("tlr_loader_" + std::to_string(::getpid()));
  fs::create_directories(root / "first");
  fs::create_directories(root / "second");
  fs::copy_file(fixture("good"), root / "first" / "libfixture_good.so",
                fs::copy_options::overwrite_existing);
  fs::copy_file(fixture("good"), root / "second" / "libfixture_good.so",
                fs::copy_options::overwrite_existing);
  const std::string first = (root / "first" / "libfixture_good.so").string();
  const std::string second = (root / "second" / "libfixture_good.so").string();
  Registry registry;
  PluginLoader loader(registry);
  loader.load_directory((root / "first").string());
  loader.load_directory((root / "second").string());
  EXPECT_EQ(registry.find(Kind::backbone, "fixture_tiny")->library, first);
  EXPECT_EQ(registry.find(Kind::head, "fixture_flat")->library, first);
  ASSERT_EQ(loader.problems().size(), 2u) << loader.problems_text();
  EXPECT_EQ(loader.problems()[0].message,
            second + ": warning: backbone 'fixture_tiny' skipped: " + first +
                " provides it from earlier on the plugin path");
  EXPECT_EQ(loader.problems()[1].message, second +
                                              ": warning: head 'fixture_flat' skipped: " + first +
                                              " provides it from earlier on the plugin path");
  EXPECT_FALSE(loader.any_refused());
  fs::remove_all(root);
}

}  // namespace
}  // namespace tlr
