// The run contract, end to end: what `runner validate` (and the start of `runner run`) refuses
// before any data or weight file is read, each refusal one located line and exit 2; how the
// plugin search path decides between two libraries; what a run records about the plugins it used.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "datasets/test_files.h"
#include "e2e/runner_process.h"

namespace {

namespace fs = std::filesystem;
using tlr::testing::describe;
using tlr::testing::Outcome;
using tlr::testing::runner;
using tlr::testing::TempDir;
using tlr::testing::write_text;

// Two models on an image folder that validation never reads: a source stage that publishes its
// backbone and a fine-tune that loads it. Tests replace lines of it to break one thing each.
const char* kTwoStages = R"yaml(experiment: contract
seed: 3
defaults:
  data:
    dataset: {plugin: image_folder, params: {root: no_such_folder}}
    split: {classes: [cat, dog], per_class: {train: 4, val: 2, test: 2}}
    input: {size: [16, 16], channels: 3}
  backbone: {plugin: basic_cnn, params: {widths: [4, 8]}}
  head: {plugin: dense, params: {units: [8], dropout: 0}}
  training: {batch_size: 2, epochs: 1}
models:
  - name: source
    strategy: {plugin: pretrain}
    publish: source_weights
  - name: tuned
    strategy: {plugin: fine_tune, params: {from: block2_conv}}
    backbone: {weights: {published: source_weights}}
)yaml";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

Outcome validate(const TempDir& tmp, const std::string& yaml,
                 const std::vector<std::string>& extra = {}) {
  const fs::path file = tmp.path() / "contract.yaml";
  write_text(file, yaml);
  std::vector<std::string> args = {"validate", file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return runner(args, tmp.path());
}

// The one line of a refusal: exit 2, stderr exactly `line` (and nothing else).
void expect_refused(const Outcome& o, const std::string& line) {
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err, line + "\n") << describe(o);
}

TEST(RunContract, ValidateBuildsAndProbesEveryModel) {
  TempDir tmp;
  const Outcome o = validate(tmp, kTwoStages);
  EXPECT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_EQ(o.out,
            (tmp.path() / "contract.yaml").string() + ": ok: 2 models, each built and probed\n");
}

TEST(RunContract, UnknownBlockIsReportedAtTheParameter) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  expect_refused(validate(tmp, replaced(kTwoStages, "from: block2_conv", "from: block3_conv")),
                 file +
                     ":16:50: error: model 'tuned': fine_tune.from: unknown block 'block3_conv'; "
                     "did you mean 'block1_conv'? (blocks: block1_conv, block1_pool, "
                     "block2_conv, block2_pool)");
}

TEST(RunContract, ChannelsTheBackboneDoesNotTakeAreReportedAtTheBackbone) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  const Outcome o = validate(tmp, replaced(kTwoStages, "channels: 3", "channels: 1"));
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  // Both models' backbones expect 3 channels; each is named at the backbone it uses.
  EXPECT_EQ(o.err, file + ":8:13: error: model 'source': basic_cnn: expects 3×H×W inputs\n" + file +
                       ":17:15: error: model 'tuned': basic_cnn: expects 3×H×W inputs\n")
      << describe(o);
}

TEST(RunContract, PublishedNameWithATypoIsReportedAtItsValue) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  expect_refused(
      validate(tmp,
               replaced(kTwoStages, "{published: source_weights}", "{published: source_weight}")),
      file +
          ":17:37: error: no earlier model publishes weights 'source_weight'; did you mean "
          "'source_weights'?");
}

TEST(RunContract, PublisherAfterTheModelLoadingItIsRefused) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  const std::string swapped =
      std::string(kTwoStages).substr(0, std::string(kTwoStages).find("  - name: source")) +
      "  - name: tuned\n"
      "    strategy: {plugin: fine_tune, params: {from: block2_conv}}\n"
      "    backbone: {weights: {published: source_weights}}\n"
      "  - name: source\n"
      "    strategy: {plugin: pretrain}\n"
      "    publish: source_weights\n";
  expect_refused(validate(tmp, swapped),
                 file +
                     ":14:37: error: no earlier model publishes weights 'source_weights': "
                     "model 'source' publishes them but comes after 'tuned'; move it earlier");
}

TEST(RunContract, ANamePublishedTwiceIsRefusedAtTheSecond) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  expect_refused(validate(tmp, replaced(kTwoStages, "  - name: tuned\n",
                                        "  - name: again\n"
                                        "    strategy: {plugin: pretrain}\n"
                                        "    publish: source_weights\n"
                                        "  - name: tuned\n")),
                 file +
                     ":17:14: error: weights 'source_weights' are already published by model "
                     "'source'; give each published name to one model");
}

TEST(RunContract, PublisherExpandedByTheMatrixIsRefused) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  const Outcome o = validate(tmp, std::string(kTwoStages) + "matrix: {training.epochs: [1, 2]}\n");
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  // One line: the models loading the name are not told again that nobody publishes it.
  EXPECT_EQ(o.err, file +
                       ":14:14: error: model 'source' publishes 'source_weights' but runs 2 "
                       "times, once per matrix value; give it `matrix: false`\n")
      << describe(o);
}

TEST(RunContract, BatchNormHeadWithALastBatchOfOneIsRefusedWithTheFixes) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  std::string yaml = replaced(kTwoStages, "head: {plugin: dense, params: {units: [8], dropout: 0}}",
                              "head: {plugin: fixture_batchnorm_head}");
  yaml = replaced(yaml, "per_class: {train: 4, val: 2, test: 2}",
                  "per_class: {train: 8, val: 2, test: 2}");
  yaml = replaced(yaml, "batch_size: 2", "batch_size: 5");
  const std::string fixtures = TLR_CONTRACT_FIXTURES;
  const Outcome o = validate(tmp, yaml, {"--plugin-path", fixtures + "/batchnorm_head"});
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err,
            file +
                ":10:26: error: model 'source': the last training batch of every epoch would "
                "hold 1 image (16 train images, batch_size 5) and the model trains a "
                "BatchNorm1d, which needs at least 2: set training.drop_last: true, or "
                "batch_size 4 or 6\n" +
                file +
                ":10:26: error: model 'tuned': the last training batch of every epoch "
                "would hold 1 image (16 train images, batch_size 5) and the model trains "
                "a BatchNorm1d, which needs at least 2: set training.drop_last: true, or "
                "batch_size 4 or 6\n")
      << describe(o);
  // drop_last is the fix it names.
  const Outcome fixed =
      validate(tmp, replaced(yaml, "batch_size: 5", "batch_size: 5, drop_last: true"),
               {"--plugin-path", fixtures + "/batchnorm_head"});
  EXPECT_EQ(fixed.exit_code, 0) << describe(fixed);
}

// A component's own ParamError lands on that component's parameter: here an augmenter told to
// normalise, which the loader does (data.input.mean/std).
TEST(RunContract, AnAugmenterParameterAtFaultIsReportedAtItsValue) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  expect_refused(
      validate(tmp,
               replaced(kTwoStages, "    strategy: {plugin: pretrain}\n",
                        "    strategy: {plugin: pretrain}\n"
                        "    augmenter: {plugin: torchvision_style, params: {mean: [0.5]}}\n")),
      file +
          ":14:59: error: model 'source': augmenter torchvision_style: normalisation is not an "
          "augmenter parameter; the loader normalises every split: set data.input.mean and "
          "data.input.std (or both to imagenet)");
}

TEST(RunContract, CudaOnALibtorchWithoutCudaIsRefusedBeforeAnythingRuns) {
  TempDir tmp;
  const std::string file = (tmp.path() / "contract.yaml").string();
  expect_refused(validate(tmp, kTwoStages, {"--device", "cuda"}),
                 "runner validate: error: --device cuda: this libtorch build has no CUDA; use "
                 "cpu or auto");
  const Outcome in_file = validate(tmp, replaced(kTwoStages, "    publish: source_weights",
                                                 "    publish: source_weights\n"
                                                 "    device: cuda:1"));
  EXPECT_EQ(in_file.exit_code, 2) << describe(in_file);
  EXPECT_EQ(in_file.err, file +
                             ":15:13: error: model 'source': device 'cuda:1': this libtorch "
                             "build has no CUDA; use cpu or auto\n")
      << describe(in_file);
}

TEST(RunContract, ANonDatabaseDbIsBadInputInOneLine) {
  TempDir tmp;
  const fs::path file = tmp.path() / "contract.yaml";
  write_text(file, kTwoStages);
  fs::create_directories(tmp.path() / "no_such_folder");  // the data folder must exist to run
  const fs::path db = tmp.path() / "not_a.db";
  write_text(db, "this is a text file, not SQLite, and long enough to have a header........\n");
  const Outcome o = runner({"run", file.string(), "--db", db.string(), "--results",
                            (tmp.path() / "results").string(), "--quiet"},
                           tmp.path());
  expect_refused(o, db.string() + ": error: cannot open results database: file is not a database");
}

// validate does not look for data (the file may be meant for another machine); run does, before
// anything is recorded: one located line per missing path, exit 2, no database written.
TEST(RunContract, AMissingDataFolderOrWeightFileIsRefusedAtItsValueBeforeAnythingRuns) {
  TempDir tmp;
  const fs::path file = tmp.path() / "contract.yaml";
  write_text(file, replaced(kTwoStages, "  - name: tuned\n",
                            "  - name: imagenet\n"
                            "    strategy: {plugin: scratch}\n"
                            "    backbone: {weights: weights/vgg16-397923af.pth}\n"
                            "  - name: tuned\n"));
  const fs::path db = tmp.path() / "results.db";
  const Outcome o = runner(
      {"run", file.string(), "--db", db.string(), "--results", (tmp.path() / "results").string()},
      tmp.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_EQ(o.err, file.string() + ":5:52: error: no such folder '" +
                       (tmp.path() / "no_such_folder").string() + "' (data.dataset.params.root)\n" +
                       file.string() + ":17:25: error: no such file '" +
                       (tmp.path() / "weights/vgg16-397923af.pth").string() +
                       "' (backbone.weights)\n")
      << describe(o);
  EXPECT_FALSE(fs::exists(db));
  // A file where a folder belongs.
  write_text(tmp.path() / "no_such_folder", "not a folder\n");
  fs::create_directories(tmp.path() / "weights" / "vgg16-397923af.pth");
  const Outcome swapped = runner(
      {"run", file.string(), "--db", db.string(), "--results", (tmp.path() / "results").string()},
      tmp.path());
  EXPECT_EQ(swapped.exit_code, 2) << describe(swapped);
  EXPECT_NE(swapped.err.find("' is not a folder (data.dataset.params.root)"), std::string::npos)
      << describe(swapped);
  EXPECT_NE(swapped.err.find("vgg16-397923af.pth' is a folder (backbone.weights)"),
            std::string::npos)
      << describe(swapped);
}

// A --db that names a folder says so (SQLite's own words are "unable to open database file").
TEST(RunContract, ADbThatIsAFolderIsBadInputSayingSo) {
  TempDir tmp;
  const fs::path file = tmp.path() / "contract.yaml";
  write_text(file, kTwoStages);
  fs::create_directories(tmp.path() / "no_such_folder");
  const fs::path db = tmp.path() / "folder.db";
  fs::create_directories(db);
  const Outcome o = runner({"run", file.string(), "--db", db.string(), "--results",
                            (tmp.path() / "results").string(), "--quiet"},
                           tmp.path());
  expect_refused(o, db.string() +
                        ": error: cannot open results database: it is a folder; give --db a file "
                        "(--results DIR alone keeps it in DIR/results.db)");
}

TEST(RunContract, AnExplicitPluginPathWinsAndSaysWhatItShadows) {
  TempDir tmp;
  const std::string fixtures = TLR_CONTRACT_FIXTURES;
  const std::string library = fixtures + "/shadowing_head/libcontract_shadowing_head.so";
  const Outcome o =
      runner({"plugins", "linear", "--plugin-path", fixtures + "/shadowing_head"}, tmp.path());
  EXPECT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_NE(o.out.find("head linear  (plugin fixture_shadowing_head 0.1.0, " + library + ")"),
            std::string::npos)
      << describe(o);
  EXPECT_EQ(o.err, std::string(TLR_PLUGIN_DIR) +
                       "/libtlr_head_linear.so: warning: head 'linear' "
                       "skipped: " +
                       library + " provides it from earlier on the plugin path\n")
      << describe(o);
}

TEST(RunContract, AMissingPluginFolderIsAWarning) {
  TempDir tmp;
  const std::string missing = (tmp.path() / "no_plugins_here").string();
  const Outcome o = runner({"plugins", "basic_cnn", "--plugin-path", missing}, tmp.path());
  EXPECT_EQ(o.exit_code, 0) << describe(o);
  EXPECT_EQ(o.err, missing + ": warning: plugin folder does not exist\n") << describe(o);
  // A backbone's blocks, for its default params: the names block parameters take.
  EXPECT_NE(o.out.find("  blocks (default params): block1_conv, block1_pool, block2_conv, "),
            std::string::npos)
      << describe(o);
}

TEST(RunContract, ALibraryCrashingInItsRegisterFunctionIsNamed) {
  TempDir tmp;
  const std::string fixtures = TLR_CONTRACT_FIXTURES;
  const Outcome o =
      runner({"plugins", "--plugin-path", fixtures + "/crashing_register"}, tmp.path());
  EXPECT_NE(o.exit_code, 0);
  EXPECT_NE(o.err.find(fixtures +
                       "/crashing_register/libcontract_crashing_register.so: error: crashed in "
                       "its register function (fatal signal)\n"),
            std::string::npos)
      << describe(o);
}

}  // namespace
