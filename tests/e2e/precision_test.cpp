// training.precision end to end: --precision reaches every model, each run records the precision
// it used, an fp32 and a bf16 run never share cached features, `auto` is this CPU's choice, and
// a value that is no precision is one line and exit 2.
#include "tlr/precision.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/store/store.h"
#include "e2e/e2e_support.h"

namespace tlr::testing::e2e {
namespace {

// multiclass_folder.yaml's top_model: VGG16 bottleneck features (feature_extraction), tiny.
std::vector<std::string> top_model_args(const TempDir& tmp, const std::vector<std::string>& extra) {
  std::vector<std::string> args = tiny_run("multiclass_folder.yaml", tmp, tmp / "multiclass",
                                           {"*.data.input.size=[32, 32]", "*.backbone.weights=null",
                                            "defaults.backbone.params.width=0.125"},
                                           {"--only", "top_model"});
  // Not quiet: the feature cache says whether it computed or read the features.
  args.erase(std::find(args.begin(), args.end(), "--quiet"));
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

class Precision : public ::testing::Test {
 protected:
  void SetUp() override {
    write_image_folder(tmp / "multiclass", {"train", "validation"}, {6, 2},
                       {"ankle", "elbow", "hand", "knee", "shoulder"});
  }
  TempDir tmp;
};

TEST_F(Precision, EachRunRecordsItsPrecisionAndBf16NeverReadsFp32Features) {
  const Outcome fp32 = runner(top_model_args(tmp, {}), tmp.path());
  ASSERT_EQ(fp32.exit_code, 0) << describe(fp32);
  EXPECT_EQ(count_of(fp32.err, "features computed and cached"), 3u) << fp32.err;
  EXPECT_EQ(fp32.err.find("bf16"), std::string::npos) << "an fp32 run warned: " << fp32.err;

  const Outcome bf16 = runner(top_model_args(tmp, {"--precision", "bf16"}), tmp.path());
  ASSERT_EQ(bf16.exit_code, 0) << describe(bf16);
  // Another cell (the precision is part of the identity), and its own features.
  EXPECT_EQ(bf16.err.find("completed as run"), std::string::npos) << bf16.err;
  EXPECT_EQ(count_of(bf16.err, "features computed and cached"), 3u) << bf16.err;
  EXPECT_EQ(count_of(bf16.err, "features read from cache"), 0u) << bf16.err;
  const bool warned = bf16.err.find(
                          "runner: warning: top_model computes in bf16, which this CPU "
                          "does not have") != std::string::npos;
  EXPECT_EQ(warned, !cpu_has_native_bf16()) << bf16.err;

  const fs::path db = tmp / "results.db";
  EXPECT_EQ(query(db,
                  "SELECT group_concat(compute_precision, ',') FROM "
                  "(SELECT compute_precision FROM runs ORDER BY id)"),
            "fp32,bf16");
  EXPECT_EQ(query(db, "SELECT COUNT(*) FROM runs WHERE status = 'completed'"), "2");
  EXPECT_EQ(query(db, "SELECT compute_precision FROM latest_runs"), "bf16");

  // The per-run table of the latest invocation says what its run computed in; so do JSON and
  // CSV.
  const Outcome runs = runner({"report", "--db", db.string(), "--runs"}, tmp.path());
  ASSERT_EQ(runs.exit_code, 0) << describe(runs);
  EXPECT_NE(runs.out.find("bf16 cpu"), std::string::npos) << runs.out;
  const Outcome csv =
      runner({"report", "--db", db.string(), "--runs", "--format", "csv"}, tmp.path());
  EXPECT_NE(csv.out.find(",device,compute_precision,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find(",cpu,bf16,"), std::string::npos) << csv.out;
  const Outcome table = runner({"report", "--db", db.string()}, tmp.path());
  EXPECT_NE(table.out.find("computed in bf16 on cpu (every run"), std::string::npos) << table.out;

  // auto is this CPU's choice: the run of that precision completed, so nothing trains.
  const Outcome automatic = runner(top_model_args(tmp, {"--precision", "auto"}), tmp.path());
  ASSERT_EQ(automatic.exit_code, 0) << describe(automatic);
  const bool native = cpu_has_native_bf16();
  EXPECT_NE(
      automatic.err.find(std::string("top_model: completed as run ") + (native ? "2" : "1") + " ("),
      std::string::npos)
      << automatic.err;
}

TEST_F(Precision, ValidateChecksThePrecisionAsTyped) {
  const std::string file = "experiments/multiclass_folder.yaml";
  const Outcome bad = runner({"validate", file, "--precision", "fp16"}, tmp.path());
  EXPECT_EQ(bad.exit_code, 2) << describe(bad);
  EXPECT_EQ(bad.err, "runner validate: error: --precision 'fp16': expected fp32, bf16 or auto\n");

  const Outcome run = runner({"run", file, "--precision", "half", "--dry-run"}, tmp.path());
  EXPECT_EQ(run.exit_code, 2) << describe(run);
  EXPECT_EQ(run.err, "runner run: error: --precision 'half': expected fp32, bf16 or auto\n");

  // In the file: the schema's enum, at its line.
  const fs::path yaml = tmp / "p.yaml";
  write_text(yaml,
             "experiment: p\n"
             "defaults:\n"
             "  data:\n"
             "    dataset: {plugin: image_folder, params: {root: multiclass}}\n"
             "  backbone: {plugin: basic_cnn, params: {widths: [4, 8]}}\n"
             "  head: {plugin: dense, params: {units: [8], dropout: 0}}\n"
             "  training: {precision: fp16}\n"
             "models:\n"
             "  - name: m\n"
             "    strategy: {plugin: scratch}\n");
  const Outcome in_file = runner({"validate", yaml.string()}, tmp.path());
  EXPECT_EQ(in_file.exit_code, 2) << describe(in_file);
  EXPECT_EQ(in_file.err.rfind(yaml.string() + ":7:", 0), 0u) << in_file.err;
  EXPECT_NE(in_file.err.find("precision"), std::string::npos) << in_file.err;
  EXPECT_EQ(count_of(in_file.err, "\n"), 1u) << in_file.err;

  // The probe runs in bf16 too (small inputs: this CPU may only emulate bf16).
  const Outcome ok = runner({"validate", file, "--precision", "bf16", "--set",
                             "*.data.input.size=[32, 32]", "--set", "*.backbone.weights=null"},
                            tmp.path());
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
}

}  // namespace
}  // namespace tlr::testing::e2e
