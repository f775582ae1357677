// Using what a run trained: `runner predict` gives the run's own test probabilities for the same
// images, bit for bit; `runner export` writes a state dict that README's Python lines rebuild with
// Debian's python3-torch and that predicts the same to 1e-5; `runner evaluate` scores another
// labelled folder and records it with the run; and the bad inputs of all three are one line.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "e2e/e2e_support.h"

namespace tlr::testing::e2e {
namespace {

using nlohmann::json;

const std::vector<std::string> kClasses = {"cat", "dog", "fox"};
const std::vector<std::string> kModels = {"cnn", "features", "tuned"};

// Images at the model's input size (32x32), so that README's PIL preprocessing has nothing to
// resize and the Python side sees the runner's pixels.
void write_data(const fs::path& root) {
  const std::vector<std::string> subsets = {"train", "val", "test"};
  const std::vector<int> counts = {10, 4, 6};
  for (std::size_t s = 0; s < subsets.size(); ++s) {
    for (std::size_t c = 0; c < kClasses.size(); ++c) {
      for (int i = 0; i < counts[s]; ++i) {
        const std::string ext = i % 2 ? ".jpg" : ".png";
        write_image(root / subsets[s] / kClasses[c] / (std::to_string(i) + ext),
                    static_cast<int>(c), i + 100 * static_cast<int>(s), 32, 32);
      }
    }
  }
}

class TrainedModels : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    write_data(tmp_->path() / "data");
    const Outcome run =
        runner({"tests/use/fixtures/three_models.yaml", "--set",
                "defaults.data.dataset.params.root=" + (tmp_->path() / "data").string(), "--db",
                db(), "--results", results(), "--threads", "2", "--quiet"},
               tmp_->path());
    ASSERT_EQ(run.exit_code, 0) << describe(run);
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static std::string db() { return (tmp_->path() / "results.db").string(); }
  static std::string results() { return (tmp_->path() / "results").string(); }
  static fs::path data() { return tmp_->path() / "data"; }
  static std::string run_of(const std::string& model) {
    return query(db(), "SELECT id FROM runs WHERE model = '" + model + "'");
  }
  static Outcome use(std::vector<std::string> args) {
    args.insert(args.end(), {"--db", db(), "--results", results()});
    return runner(args, tmp_->path());
  }
  // predict --format json: path -> probabilities.
  static std::map<std::string, std::vector<float>> predicted(const std::vector<std::string>& args) {
    std::vector<std::string> full = {"predict", "--format", "json", "--threads", "2"};
    full.insert(full.end(), args.begin(), args.end());
    const Outcome o = use(full);
    EXPECT_EQ(o.exit_code, 0) << describe(o);
    std::map<std::string, std::vector<float>> out;
    const json doc = json::parse(o.out);
    for (const auto& p : doc["predictions"]) {
      out[p["path"].get<std::string>()] = p["probabilities"].get<std::vector<float>>();
    }
    return out;
  }
  static TempDir* tmp_;
};

TempDir* TrainedModels::tmp_ = nullptr;

TEST_F(TrainedModels, PredictGivesTheRunsOwnTestProbabilitiesBitForBit) {
  for (const std::string& model : kModels) {
    SCOPED_TRACE(model);
    const auto by_path = predicted({"--run", run_of(model), (data() / "test").string()});
    ASSERT_EQ(by_path.size(), 18u);
    Store store = Store::open(db());
    const std::vector<Prediction> recorded = store.predictions(std::stoll(run_of(model)), "test");
    ASSERT_EQ(recorded.size(), 18u);
    for (const Prediction& row : recorded) {
      const auto it = by_path.find((data() / row.sample_id).string());
      ASSERT_NE(it, by_path.end()) << row.sample_id;
      // results.db keeps each probability as a float written with 9 significant digits, which
      // reads back as the same float: equality, not a tolerance.
      EXPECT_EQ(it->second, row.probabilities) << row.sample_id;
    }
  }
}

TEST_F(TrainedModels, PredictReadsFoldersFilesAndListsAndNamesTheImagesItCannotRead) {
  const fs::path list = tmp_->path() / "list.txt";
  {
    std::ofstream out(list);
    out << "# two photos\n" << (data() / "test/dog/1.jpg").string() << "\n\ndata/test/fox/0.png\n";
  }
  const fs::path broken = tmp_->path() / "broken.jpg";
  std::ofstream(broken) << "not a jpeg";
  // A JPEG libjpeg repairs (three stray bytes between two segments) is predicted, with a warning.
  const fs::path repaired = tmp_->path() / "repaired.jpg";
  fs::copy_file(data() / "test/dog/1.jpg", repaired);
  const std::string repair = add_stray_bytes_to_jpeg(repaired);
  const Outcome o = use({"predict", "--model", "tuned", "--top", "2", "--format", "csv",
                         (data() / "test/cat").string(), list.string(), broken.string(),
                         (tmp_->path() / "missing.png").string(), repaired.string()});
  EXPECT_EQ(o.exit_code, 1) << describe(o);  // some images could not be read; the rest are
  EXPECT_EQ(count_of(o.out, "\n"), 1u + 6 + 2 + 1) << o.out;
  EXPECT_NE(o.out.find(repaired.string() + ","), std::string::npos) << o.out;
  EXPECT_NE(o.err.find(repaired.string() + ": warning: " + repair + "; decoded anyway\n"),
            std::string::npos)
      << o.err;
  EXPECT_EQ(o.err.find("Corrupt JPEG"), std::string::npos) << o.err;
  EXPECT_EQ(o.out.rfind("path,class_1,probability_1,class_2,probability_2\n", 0), 0u) << o.out;
  EXPECT_NE(o.out.find((data() / "test/dog/1.jpg").string() + ","), std::string::npos);
  EXPECT_NE(o.out.find((tmp_->path() / "data/test/fox/0.png").string() + ","), std::string::npos)
      << "a list's relative paths are relative to the list: " << o.out;
  EXPECT_NE(o.err.find(broken.string() + ": error: cannot decode image"), std::string::npos)
      << o.err;
  EXPECT_NE(o.err.find("missing.png: error: no such file or folder"), std::string::npos) << o.err;

  const Outcome table = use({"predict", "--model", "cnn", (data() / "test/dog/0.png").string()});
  EXPECT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_NE(table.out.find("image"), std::string::npos);
  EXPECT_NE(table.out.find(" ("), std::string::npos) << table.out;
}

TEST_F(TrainedModels, ExportRebuildsInPythonWithReadmesLinesAndPredictsTheSame) {
  for (const std::string& model : kModels) {
    SCOPED_TRACE(model);
    const fs::path dir = tmp_->path() / ("export_" + model);
    const Outcome exported =
        use({"export", "--model", model, "--out", (dir / "winner.pth").string()});
    ASSERT_EQ(exported.exit_code, 0) << describe(exported);
    const json meta = json::parse(read_file(dir / "winner.json"));
    ASSERT_TRUE(meta["layout"].is_object()) << meta.value("layout_problem", "");
    EXPECT_EQ(meta["classes"], json(kClasses));

    std::vector<std::string> images;
    for (const auto& c : kClasses) {
      for (int i = 0; i < 6; ++i) {
        images.push_back(
            (data() / "test" / c / (std::to_string(i) + (i % 2 ? ".jpg" : ".png"))).string());
      }
    }
    std::string command =
        "/usr/bin/python3 " + shell_quote(TLR_SOURCE_DIR "/tests/use/export_parity.py") + " " +
        shell_quote(TLR_SOURCE_DIR "/README.md") + " " + shell_quote(dir.string());
    for (const auto& image : images) command += " " + shell_quote(image);
    const Outcome python = run_shell(command, tmp_->path());
    ASSERT_EQ(python.exit_code, 0) << describe(python);
    const json in_python = json::parse(python.out);
    std::vector<std::string> args = {"--model", model, "--precision", "fp32"};
    args.insert(args.end(), images.begin(), images.end());
    const auto in_runner = predicted(args);
    for (const auto& image : images) {
      const auto ours = in_runner.at(image);
      const auto theirs = in_python.at(image).get<std::vector<double>>();
      ASSERT_EQ(ours.size(), theirs.size());
      for (std::size_t c = 0; c < ours.size(); ++c) {
        EXPECT_NEAR(ours[c], theirs[c], 1e-5) << image << " class " << c;
      }
    }
  }
}

TEST_F(TrainedModels, EvaluateScoresAnotherFolderAndRecordsItWithTheRun) {
  // The test images again, in a folder of their own: the run's own test accuracy.
  const Outcome o = use({"evaluate", "--model", "features", "--data", (data() / "test").string(),
                         "--format", "json", "--threads", "2"});
  ASSERT_EQ(o.exit_code, 0) << describe(o);
  const json doc = json::parse(o.out);
  const std::string run = run_of("features");
  EXPECT_EQ(doc["samples"], 18);
  EXPECT_NEAR(doc["metrics"]["accuracy"].get<double>(),
              std::stod(query(db(), "SELECT value FROM metrics WHERE run_id = " + run +
                                        " AND split = 'test' AND name = 'accuracy'")),
              1e-12);
  EXPECT_EQ(query(db(),
                  "SELECT run_id || ' ' || samples || ' ' || compute_precision FROM "
                  "evaluations WHERE id = " +
                      std::to_string(doc["evaluation"].get<int>())),
            run + " 18 fp32");
  EXPECT_EQ(query(db(), "SELECT SUM(count) FROM evaluation_confusion"), "18");
  EXPECT_EQ(query(db(), "SELECT value FROM evaluation_metrics WHERE name = 'support/dog'"), "6.0");

  // Fewer classes than the run's: scored against the run's class list.
  const fs::path two = tmp_->path() / "two_classes";
  fs::create_directories(two);
  fs::copy(data() / "test/cat", two / "cat");
  fs::copy(data() / "test/fox", two / "fox");
  const Outcome subset = use({"evaluate", "--model", "cnn", "--data", two.string()});
  EXPECT_EQ(subset.exit_code, 0) << describe(subset);
  EXPECT_NE(subset.out.find("12 images"), std::string::npos) << subset.out;

  // A class the run does not know is named.
  fs::copy(data() / "test/dog", two / "wolf");
  const Outcome unknown = use({"evaluate", "--model", "cnn", "--data", two.string()});
  EXPECT_EQ(unknown.exit_code, 2) << describe(unknown);
  EXPECT_NE(unknown.err.find((two / "wolf").string() + ": error: class 'wolf' is not one of the "
                                                       "model's (cat, dog, fox)"),
            std::string::npos)
      << unknown.err;
}

TEST_F(TrainedModels, BadChoicesAndChangedFilesAreOneLineAndExit2) {
  const std::string image = (data() / "test/cat/0.png").string();
  const Outcome no_model = use({"predict", image});
  EXPECT_EQ(no_model.exit_code, 2);
  EXPECT_NE(no_model.err.find("which model?"), std::string::npos) << no_model.err;

  const Outcome typo = use({"predict", "--model", "tunned", image});
  EXPECT_EQ(typo.exit_code, 2);
  EXPECT_NE(typo.err.find("has no model 'tunned'; did you mean 'tuned'?"), std::string::npos)
      << typo.err;

  const Outcome no_run = use({"export", "--run", "999", "--out", "x.pth"});
  EXPECT_EQ(no_run.exit_code, 2);
  EXPECT_NE(no_run.err.find("no such run"), std::string::npos) << no_run.err;

  const Outcome no_db =
      runner({"predict", "--model", "cnn", "--db", "/nonexistent/r.db", image}, tmp_->path());
  EXPECT_EQ(no_db.exit_code, 2);
  EXPECT_NE(no_db.err.find("/nonexistent/r.db: error: no results database"), std::string::npos);

  // A weights file changed after the run recorded it is refused, naming it.
  const std::string weights =
      query(db(), "SELECT path FROM artifacts WHERE kind = 'model' AND run_id = " + run_of("cnn"));
  const std::string saved = read_file(weights);
  {
    std::ofstream out(weights, std::ios::binary | std::ios::app);
    out << "x";
  }
  const Outcome changed = use({"predict", "--model", "cnn", image});
  EXPECT_EQ(changed.exit_code, 2);
  EXPECT_NE(changed.err.find(weights + ": error: changed since run"), std::string::npos)
      << changed.err;
  std::ofstream(weights, std::ios::binary | std::ios::trunc) << saved;
  EXPECT_EQ(use({"predict", "--model", "cnn", image}).exit_code, 0);
}

}  // namespace
}  // namespace tlr::testing::e2e
