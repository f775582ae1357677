// Replicates and the comparison statistics, end to end: a small experiment whose models run in
// replicates, the numbers the runner stores (model_statistics, mcnemar_tests) recomputed from the
// predictions table by Debian's python3-scipy, and the verdicts of an identical twin and of a
// crippled model.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/e2e_support.h"

namespace tlr::testing::e2e {
namespace {

// Cats and dogs told apart by a coloured bar, 16x16; 60 test images per class so that a model
// that learns nothing is detectably worse than one that learns the bar.
fs::path write_replicated_experiment(const TempDir& tmp, const std::string& head,
                                     const std::string& models) {
  if (!fs::exists(tmp / "images")) write_cats_and_dogs(tmp / "images", 80);
  const fs::path file = tmp / "replicated.yaml";
  write_text(file,
             "experiment: replicated\n" + head +
                 "defaults:\n"
                 "  data:\n"
                 "    dataset: {plugin: filename_labels, params: {root: images}}\n"
                 "    split: {classes: [cat, dog], per_class: {train: 12, val: 8, test: 60}}\n"
                 "    input: {size: [16, 16], channels: 3}\n"
                 "  backbone: {plugin: basic_cnn, params: {widths: [8]}}\n"
                 "  head: {plugin: dense, params: {units: [8]}}\n"
                 "  training: {epochs: 6, batch_size: 4, optimizer: {name: adam, lr: 3.0e-3}}\n"
                 "models:\n" +
                 models);
  return file;
}

std::vector<std::string> args_for(const fs::path& file, const TempDir& tmp) {
  return {file.string(),
          "--db",
          (tmp / "results.db").string(),
          "--results",
          (tmp / "results").string(),
          "--threads",
          "2",
          "--quiet"};
}

// The verdict column of the stored statistics.
std::string verdict_of(const fs::path& db, const std::string& model) {
  return query(db, "SELECT verdict FROM model_statistics WHERE model = '" + model + "'");
}

TEST(Statistics, EveryStoredNumberIsRecomputedByScipyFromThePredictions) {
  if (run_shell("/usr/bin/python3 -c 'import scipy' >/dev/null 2>&1", fs::temp_directory_path())
          .exit_code != 0) {
    GTEST_SKIP() << "/usr/bin/python3 cannot import scipy (scripts/setup.sh installs "
                    "python3-scipy)";
  }
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  const fs::path file = write_replicated_experiment(
      tmp, "replicates: 3\n",
      "  - {name: base, strategy: {plugin: scratch}}\n"
      "  - {name: twin, seed: 7, strategy: {plugin: scratch}}\n"
      "  - {name: crippled, strategy: {plugin: scratch}, training: {optimizer: {lr: 1.0e-9}}}\n"
      "  - {name: single, seed: 9, replicates: 1, strategy: {plugin: scratch}}\n");
  const Outcome o = runner(args_for(file, tmp), tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);

  // 3 + 3 + 3 + 1 runs, replicate k of each model with the same derived seed; every run stored
  // its 120 test and 16 validation predictions.
  EXPECT_EQ(query(db, "SELECT group_concat(model || '#' || replicate, ' ') FROM runs"),
            "base#0 base#1 base#2 twin#0 twin#1 twin#2 crippled#0 crippled#1 crippled#2 single#0");
  EXPECT_EQ(query(db, "SELECT COUNT(DISTINCT seed) FROM runs WHERE model = 'base'"), "3");
  EXPECT_EQ(query(db, "SELECT seed FROM runs WHERE model = 'base' AND replicate = 0"), "42");
  EXPECT_EQ(query(db, "SELECT seed FROM runs WHERE model = 'base' AND replicate = 1"),
            query(db, "SELECT seed FROM runs WHERE model = 'crippled' AND replicate = 1"));
  EXPECT_EQ(query(db,
                  "SELECT group_concat(n, ' ') FROM (SELECT COUNT(*) AS n FROM predictions "
                  "GROUP BY run_id, split ORDER BY run_id, split)"),
            "120 16 120 16 120 16 120 16 120 16 120 16 120 16 120 16 120 16 120 16");
  // The test images are the same in every run: every run's sample k is the same image.
  EXPECT_EQ(query(db,
                  "SELECT COUNT(DISTINCT sample_id || '/' || true_label) FROM predictions "
                  "WHERE split = 'test'"),
            "120");

  const Outcome recomputed = run_shell(
      "/usr/bin/python3 " +
          shell_quote(std::string(TLR_SOURCE_DIR) + "/tests/e2e/recompute_statistics.py") + " " +
          shell_quote(db.string()) + " 1",
      tmp.path());
  EXPECT_EQ(recomputed.exit_code, 0) << recomputed.out << recomputed.err;
  EXPECT_NE(recomputed.out.find("checked "), std::string::npos) << recomputed.out;

  // The verdicts: a model identical but for its seeds is not distinguishable from the baseline;
  // one that cannot learn is worse.
  EXPECT_EQ(verdict_of(db, "base"), "baseline");
  EXPECT_EQ(verdict_of(db, "twin"), "no detectable difference") << o.out;
  EXPECT_EQ(verdict_of(db, "crippled"), "worse") << o.out;
  EXPECT_EQ(query(db, "SELECT test FROM model_statistics WHERE model = 'single'"), "mcnemar_exact");
  EXPECT_EQ(query(db, "SELECT accuracy_interval FROM model_statistics WHERE model = 'single'"),
            "wilson");
  EXPECT_EQ(query(db, "SELECT compare_to FROM experiments WHERE id = 1"), "base");

  // The end-of-run table says the same.
  EXPECT_NE(o.out.find("worse"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("baseline"), std::string::npos) << o.out;
}

TEST(Statistics, TrainSampleReplicatesRedrawTrainAndValButNeverTest) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  const fs::path file =
      write_replicated_experiment(tmp, "replicates: 2\nvary: [training, train_sample]\n",
                                  "  - {name: base, strategy: {plugin: scratch}, "
                                  "training: {epochs: 1}}\n");
  const Outcome o = runner(args_for(file, tmp), tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  const std::string ids =
      "SELECT group_concat(sample_id, ',') FROM (SELECT sample_id FROM "
      "predictions WHERE run_id = ";
  EXPECT_EQ(query(db, ids + "1 AND split = 'test' ORDER BY sample)"),
            query(db, ids + "2 AND split = 'test' ORDER BY sample)"));
  EXPECT_NE(query(db, ids + "1 AND split = 'val' ORDER BY sample)"),
            query(db, ids + "2 AND split = 'val' ORDER BY sample)"));
  // Replicate 1 is the run without replicates: no train_val_seed in its config.
  EXPECT_EQ(query(db,
                  "SELECT json_extract(config_json, '$.data.split.train_val_seed') IS NULL "
                  "FROM runs WHERE replicate = 0"),
            "1");
  EXPECT_EQ(query(db,
                  "SELECT json_extract(config_json, '$.data.split.train_val_seed') IS NOT NULL "
                  "FROM runs WHERE replicate = 1"),
            "1");
  // The split lists the runs wrote: other train images, the same test images.
  const fs::path models = tmp / "results" / "replicated";
  const nlohmann::json first = nlohmann::json::parse(read_file(models / "base#1" / "split.json"));
  const nlohmann::json second = nlohmann::json::parse(read_file(models / "base#2" / "split.json"));
  EXPECT_NE(first["train"], second["train"]);
  EXPECT_EQ(first["test"], second["test"]);
}

TEST(Statistics, ReplicatesOfOneModelRunAndRerunByItsName) {
  TempDir tmp;
  const fs::path db = tmp / "results.db";
  const fs::path file = write_replicated_experiment(
      tmp, "",
      "  - {name: base, strategy: {plugin: scratch}, training: {epochs: 1}}\n"
      "  - {name: other, strategy: {plugin: scratch}, training: {epochs: 1}}\n");
  // --replicates sets the experiment's count; --only names a model, so all its replicates run.
  std::vector<std::string> args = args_for(file, tmp);
  args.insert(args.end(), {"--replicates", "2", "--only", "other"});
  const Outcome first = runner(args, tmp.path());
  ASSERT_EQ(first.exit_code, 0) << describe(first);
  EXPECT_EQ(query(db, "SELECT group_concat(model || '#' || replicate, ' ') FROM runs"),
            "other#0 other#1");
  // Replicate 1 of 2 is the same cell as the model without replicates: a plain run reuses it.
  args = args_for(file, tmp);
  args.insert(args.end(), {"--only", "other"});
  const Outcome plain = runner(args, tmp.path());
  ASSERT_EQ(plain.exit_code, 0) << describe(plain);
  EXPECT_EQ(query(db, "SELECT COUNT(*) FROM runs"), "2");
  // One replicate by its cell name.
  args = args_for(file, tmp);
  args.insert(args.end(), {"--replicates", "2", "--only", "other#2", "--rerun", "other#2"});
  const Outcome again = runner(args, tmp.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_EQ(query(db, "SELECT model || '#' || replicate FROM runs WHERE id = 3"), "other#1");
}

// The shipped default with its replicates (2 here, tiny data): the source stage once, every
// compared model twice, and a table with a verdict for each against the scratch CNN.
TEST(Statistics, TheDefaultExperimentComparesItsReplicatesWithTheScratchCnn) {
  TempDir tmp;
  write_fashion_mnist(tmp);
  std::vector<std::string> args = five_models_args(tmp, /*quiet=*/true);
  args.insert(args.end(), {"--set", "replicates=2"});
  const Outcome o = runner(args, tmp.path());
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  const fs::path db = tmp / "results.db";
  EXPECT_EQ(query(db, "SELECT COUNT(*) FROM runs WHERE model = 'source_pretrain'"), "1");
  EXPECT_EQ(query(db, "SELECT COUNT(*) FROM runs"), "11");
  EXPECT_EQ(query(db, "SELECT verdict FROM model_statistics WHERE model = 'basic_cnn'"),
            "baseline");
  EXPECT_EQ(query(db,
                  "SELECT COUNT(*) FROM model_statistics WHERE baseline = 'basic_cnn' AND "
                  "pairs = 2 AND test = 'paired_t' AND verdict IS NOT NULL"),
            "4");
  EXPECT_EQ(query(db, "SELECT note FROM model_statistics WHERE model = 'source_pretrain'"),
            "test set differs from baseline 'basic_cnn'");
  EXPECT_NE(o.out.find("vgg_fine_tune "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("baseline"), std::string::npos) << o.out;
}

TEST(Statistics, BadReplicateSettingsAreLocated) {
  TempDir tmp;
  const fs::path file = write_replicated_experiment(
      tmp, "replicates: 0\ncompare_to: bsae\n", "  - {name: base, strategy: {plugin: scratch}}\n");
  const Outcome o = runner({"validate", file.string()}, tmp.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_NE(o.err.find(file.string() + ":2:"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find(file.string() + ":3:13: error: compare_to names no model: 'bsae'; did you "
                                       "mean 'base'?"),
            std::string::npos)
      << o.err;
  // --replicates is checked as typed, before the file.
  const Outcome zero = runner({file.string(), "--replicates", "0"}, tmp.path());
  EXPECT_EQ(zero.exit_code, 2) << describe(zero);
  EXPECT_EQ(zero.err, "runner run: error: --replicates 0: expected 1 to 1000\n");
}

}  // namespace
}  // namespace tlr::testing::e2e
