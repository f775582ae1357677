// The comparison table of replicated runs, in every format, and report.html's forest plot: built
// from hand-made run rows and statistics, so each number a reader sees is pinned to its source.
#include "core/report/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;

RunSummary run(const std::string& model, const std::string& strategy, int replicate,
               double accuracy, std::int64_t run_id) {
  RunSummary r;
  r.experiment = "five_models";
  r.run_id = run_id;
  r.model = model;
  r.strategy = strategy;
  r.backbone = strategy == "scratch" ? "basic_cnn" : "vgg16";
  r.status = RunStatus::kCompleted;
  r.replicate = replicate;
  r.seed = 42 + replicate;
  r.test_accuracy = accuracy;
  r.test_f1 = accuracy - 0.02;
  r.best_val_acc = accuracy + 0.01;
  r.epochs_run = 20 + replicate;
  r.wall_seconds = 2.0;
  r.trainable_params = strategy == "scratch" ? 346465 : 525825;
  return r;
}

stats::Interval interval(int n, double mean, double sd, double low, double high,
                         const std::string& method) {
  return {n, mean, sd, low, high, method};
}

stats::Comparison comparison(double difference, double low, double high, double p_holm,
                             const std::string& verdict, const std::vector<double>& mcnemar_p) {
  stats::Comparison c;
  c.baseline = "basic_cnn";
  c.pairs = int(mcnemar_p.size());
  c.difference = difference, c.low = low, c.high = high;
  c.test = c.pairs == 1 ? "mcnemar_exact" : "paired_t";
  c.statistic = 4.5;
  c.df = c.pairs - 1;
  c.p = p_holm / 2;
  c.p_holm = p_holm;
  c.verdict = verdict;
  for (std::size_t i = 0; i < mcnemar_p.size(); ++i) {
    c.mcnemar.push_back(
        {int(i), 100 + std::int64_t(i), 1 + std::int64_t(i), 1000, 30, 12, mcnemar_p[i]});
  }
  return c;
}

// Five replicates of a baseline and two transfer models (one with a failed replicate), a model
// compared with p < 0.001, and a single run on another test set.
struct Fixture {
  std::vector<RunSummary> rows;
  std::vector<stats::ModelStatistics> stats;
  Fixture() {
    std::int64_t id = 1;
    for (int r = 0; r < 5; ++r)
      rows.push_back(run("basic_cnn", "scratch", r, 0.77 + 0.003 * r, id++));
    for (int r = 0; r < 5; ++r) {
      rows.push_back(run("vgg_features", "feature_extraction", r, 0.79 + 0.002 * r, id++));
    }
    for (int r = 0; r < 5; ++r) {
      rows.push_back(run("vgg_fine_tune", "fine_tune", r, 0.775 + 0.002 * r, id++));
    }
    rows.back().status = RunStatus::kFailed;
    rows.back().test_accuracy.reset();
    rows.back().test_f1.reset();
    rows.back().error = "loss is NaN at epoch 3";
    rows.back().epochs_run = 3;
    for (int r = 0; r < 3; ++r) rows.push_back(run("vgg_frozen_aug", "frozen", r, 0.75, id++));
    rows.push_back(run("source_pretrain", "pretrain", 0, 0.94, id++));
    rows.back().wall_seconds = 93;
    rows.back().trainable_params = 1253304;

    stats::ModelStatistics base;
    base.model = "basic_cnn";
    base.replicates = 5;
    base.accuracy = interval(5, 0.776, 0.0047, 0.7701, 0.7819, "t");
    base.f1 = interval(5, 0.756, 0.0047, 0.7501, 0.7619, "t");
    base.is_baseline = true;
    stats.push_back(base);

    stats::ModelStatistics features;
    features.model = "vgg_features";
    features.replicates = 5;
    features.accuracy = interval(5, 0.794, 0.0032, 0.7901, 0.7979, "t");
    features.f1 = interval(5, 0.774, 0.0032, 0.7701, 0.7779, "t");
    features.comparison =
        comparison(0.018, 0.0102, 0.0258, 0.0042, "better", {0.01, 0.2, 0.03, 0.04, 0.5});
    stats.push_back(features);

    stats::ModelStatistics fine_tune;
    fine_tune.model = "vgg_fine_tune";
    fine_tune.replicates = 4;
    fine_tune.accuracy = interval(4, 0.778, 0.0026, 0.7739, 0.7821, "t");
    fine_tune.f1 = interval(4, 0.758, 0.0026, 0.7539, 0.7621, "t");
    fine_tune.comparison =
        comparison(-0.004, -0.012, 0.004, 0.41, "no detectable difference", {0.6, 0.3, 0.9, 0.8});
    stats.push_back(fine_tune);

    stats::ModelStatistics frozen;
    frozen.model = "vgg_frozen_aug";
    frozen.replicates = 3;
    frozen.accuracy = interval(3, 0.75, 0, 0.75, 0.75, "t");
    frozen.f1 = interval(3, 0.73, 0, 0.73, 0.73, "t");
    frozen.comparison = comparison(-0.026, -0.026, -0.026, 0.0004, "worse", {0.001, 0.002, 0.04});
    stats.push_back(frozen);

    stats::ModelStatistics source;
    source.model = "source_pretrain";
    source.replicates = 1;
    source.accuracy = interval(1000, 0.94, NAN, 0.9235, 0.9531, "wilson");
    source.f1 = interval(1, 0.92, NAN, NAN, NAN, "");
    source.note = "test set differs from baseline 'basic_cnn'";
    stats.push_back(source);
  }
};

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(ComparisonTable, OneRowPerModelWithIntervalsTestsAndHowToReadThem) {
  const Fixture f;
  const std::string text = format_comparison(f.rows, f.stats, "table");
  EXPECT_EQ(
      text,
      R"(model            runs  test acc (95% CI)      f1  diff (95% CI)      p (Holm)  verdict                   epochs  time
---------------------------------------------------------------------------------------------------------------------
basic_cnn           5  77.6% [77.0, 78.2]  0.756  baseline                                                   22   10s
vgg_features        5  79.4% [79.0, 79.8]  0.774  +1.8 [+1.0, +2.6]   0.00420  better                        22   10s
vgg_fine_tune     4/5  77.8% [77.4, 78.2]  0.758  -0.4 [-1.2, +0.4]     0.410  no detectable difference    21.5   10s
vgg_frozen_aug      3  75.0% [75.0, 75.0]  0.730  -2.6 [-2.6, -2.6]    <0.001  worse                         21    6s
source_pretrain     1  94.0% [92.3, 95.3]  0.920  -                                                          20   93s

test acc: the mean over a model's replicates with its 95% t interval; with one run (source_pretrain) the 95% Wilson
  interval over its 1,000 test images.
diff: test accuracy minus basic_cnn's in percentage points, replicate r paired with the baseline's replicate r, with
  its 95% interval.
p (Holm): paired t-test over the replicate differences, adjusted by Holm over the 3 models compared with basic_cnn;
  verdict better or worse when it is below 0.05, else no detectable difference.
McNemar p<0.05 in k of R replicate pairs (per pair, uncorrected): vgg_features 3/5, vgg_fine_tune 0/4, vgg_frozen_aug
  3/3.
source_pretrain: not compared: test set differs from baseline 'basic_cnn'.
computed in fp32 on cpu (every run; runs.compute_precision).
Per run (strategy, trainable parameters, precision, recall): runner report --runs.

vgg_fine_tune#5: failed: loss is NaN at epoch 3
)");
  for (const auto& line : lines_of(text)) EXPECT_LE(line.size(), 120u) << line;
}

TEST(ComparisonTable, MarkdownHasTheSameColumnsAndTheNotesAsParagraphs) {
  const Fixture f;
  const std::string md = format_comparison(f.rows, f.stats, "markdown");
  const auto lines = lines_of(md);
  ASSERT_GE(lines.size(), 7u);
  EXPECT_EQ(lines[0].rfind("| model           | runs | test acc (95% CI)  |", 0), 0u) << md;
  EXPECT_EQ(lines[1].rfind("|-----------------|-----:|", 0), 0u) << md;
  EXPECT_EQ(lines[3],
            "| vgg_features    |    5 | 79.4% [79.0, 79.8] | 0.774 | +1.8 [+1.0, +2.6] |  0.00420 "
            "| better                   |     22 |  10s |");
  EXPECT_NE(
      md.find("\n\nsource_pretrain: not compared: test set differs from baseline 'basic_cnn'.\n\n"),
      std::string::npos)
      << md;
  EXPECT_NE(md.find("\n- vgg_fine_tune#5: failed: loss is NaN at epoch 3\n"), std::string::npos)
      << md;
}

TEST(ComparisonTable, JsonCarriesEveryStatisticWithNullForNaN) {
  const Fixture f;
  const auto json = nlohmann::json::parse(format_comparison(f.rows, f.stats, "json"));
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 5u);

  const auto& base = json[0];
  EXPECT_EQ(base["model"], "basic_cnn");
  EXPECT_EQ(base["strategy"], "scratch");
  EXPECT_EQ(base["is_baseline"], true);
  EXPECT_TRUE(base["comparison"].is_null());
  EXPECT_EQ(base["completed"], 5);
  EXPECT_DOUBLE_EQ(base["accuracy"]["mean"].get<double>(), 0.776);
  EXPECT_DOUBLE_EQ(base["accuracy"]["low"].get<double>(), 0.7701);
  EXPECT_EQ(base["accuracy"]["method"], "t");
  EXPECT_EQ(base["accuracy"]["n"], 5);
  EXPECT_DOUBLE_EQ(base["wall_seconds"].get<double>(), 10);
  EXPECT_DOUBLE_EQ(base["epochs"].get<double>(), 22);
  EXPECT_EQ(base["trainable_params"], 346465);
  ASSERT_EQ(base["runs"].size(), 5u);
  EXPECT_EQ(base["runs"][3]["replicate"], 3);
  EXPECT_EQ(base["runs"][3]["seed"], 45);
  EXPECT_EQ(base["runs"][3]["run_id"], 4);
  EXPECT_DOUBLE_EQ(base["runs"][3]["test_accuracy"].get<double>(), 0.779);

  const auto& features = json[1]["comparison"];
  EXPECT_EQ(features["baseline"], "basic_cnn");
  EXPECT_EQ(features["pairs"], 5);
  EXPECT_DOUBLE_EQ(features["difference"].get<double>(), 0.018);
  EXPECT_DOUBLE_EQ(features["low"].get<double>(), 0.0102);
  EXPECT_DOUBLE_EQ(features["high"].get<double>(), 0.0258);
  EXPECT_EQ(features["test"], "paired_t");
  EXPECT_DOUBLE_EQ(features["statistic"].get<double>(), 4.5);
  EXPECT_DOUBLE_EQ(features["df"].get<double>(), 4);
  EXPECT_DOUBLE_EQ(features["p"].get<double>(), 0.0021);
  EXPECT_DOUBLE_EQ(features["p_holm"].get<double>(), 0.0042);
  EXPECT_EQ(features["verdict"], "better");
  ASSERT_EQ(features["mcnemar"].size(), 5u);
  EXPECT_EQ(features["mcnemar"][2],
            nlohmann::json::parse(R"({"replicate": 2, "run_id": 102, "baseline_run_id": 3,
                                      "n": 1000, "model_only": 30, "baseline_only": 12,
                                      "p": 0.03})"));

  const auto& fine_tune = json[2];
  EXPECT_EQ(fine_tune["completed"], 4);
  ASSERT_EQ(fine_tune["runs"].size(), 5u);
  EXPECT_EQ(fine_tune["runs"][4]["status"], "failed");
  EXPECT_TRUE(fine_tune["runs"][4]["test_accuracy"].is_null());
  EXPECT_EQ(fine_tune["runs"][4]["error"], "loss is NaN at epoch 3");

  const auto& source = json[4];
  EXPECT_TRUE(source["accuracy"]["sd"].is_null());
  EXPECT_EQ(source["accuracy"]["method"], "wilson");
  EXPECT_EQ(source["accuracy"]["n"], 1000);
  EXPECT_TRUE(source["f1"]["sd"].is_null());
  EXPECT_TRUE(source["f1"]["low"].is_null());
  EXPECT_TRUE(source["f1"]["high"].is_null());
  EXPECT_DOUBLE_EQ(source["f1"]["mean"].get<double>(), 0.92);
  EXPECT_TRUE(source["comparison"].is_null());
  EXPECT_EQ(source["is_baseline"], false);
  EXPECT_EQ(source["note"], "test set differs from baseline 'basic_cnn'");
}

TEST(ComparisonTable, CsvHasOneFlatRowPerModel) {
  const Fixture f;
  const auto lines = lines_of(format_comparison(f.rows, f.stats, "csv"));
  ASSERT_EQ(lines.size(), 6u);
  auto fields = [](const std::string& line) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream in(line);
    while (std::getline(in, field, ',')) out.push_back(field);
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
  };
  const auto header = fields(lines[0]);
  std::vector<std::map<std::string, std::string>> rows;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto values = fields(lines[i]);
    ASSERT_EQ(values.size(), header.size()) << lines[i];
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < header.size(); ++c) row[header[c]] = values[c];
    rows.push_back(row);
  }
  EXPECT_EQ(rows[0]["model"], "basic_cnn");
  EXPECT_EQ(rows[0]["verdict"], "baseline");
  EXPECT_EQ(rows[0]["baseline"], "");
  EXPECT_EQ(rows[0]["accuracy_mean"], "0.776");
  EXPECT_EQ(rows[1]["baseline"], "basic_cnn");
  EXPECT_EQ(rows[1]["difference"], "0.018");
  EXPECT_EQ(rows[1]["difference_low"], "0.0102");
  EXPECT_EQ(rows[1]["p_holm"], "0.0042");
  EXPECT_EQ(rows[1]["test"], "paired_t");
  EXPECT_EQ(rows[1]["pairs"], "5");
  EXPECT_EQ(rows[1]["mcnemar_significant"], "3");
  EXPECT_EQ(rows[1]["verdict"], "better");
  EXPECT_EQ(rows[2]["runs"], "5");
  EXPECT_EQ(rows[2]["completed"], "4");
  EXPECT_EQ(rows[2]["epochs"], "21.5");
  EXPECT_EQ(rows[4]["accuracy_sd"], "");  // NaN
  EXPECT_EQ(rows[4]["accuracy_method"], "wilson");
  EXPECT_EQ(rows[4]["f1_low"], "");
  EXPECT_EQ(rows[4]["note"], "test set differs from baseline 'basic_cnn'");
  EXPECT_EQ(rows[4]["wall_seconds"], "93");
  EXPECT_EQ(rows[4]["trainable_params"], "1253304");
}

TEST(ComparisonTable, OneRunPerModelIsReadAsWilsonAndMcNemar) {
  std::vector<RunSummary> rows = {run("basic_cnn", "scratch", 0, 0.775, 1),
                                  run("vgg", "fine_tune", 0, 0.79, 2)};
  std::vector<stats::ModelStatistics> stats(2);
  stats[0].model = "basic_cnn", stats[0].replicates = 1, stats[0].is_baseline = true;
  stats[0].accuracy = interval(1000, 0.775, NAN, 0.748, 0.8, "wilson");
  stats[1].model = "vgg", stats[1].replicates = 1;
  stats[1].accuracy = interval(1000, 0.79, NAN, 0.764, 0.814, "wilson");
  stats[1].comparison = comparison(0.015, -0.002, 0.032, 0.09, "no detectable difference", {0.09});
  const std::string text = format_comparison(rows, stats, "table");
  EXPECT_NE(text.find("test acc: one run per model, with the 95% Wilson interval over its 1,000 "
                      "test images.\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("p (Holm): exact McNemar test on the test images (one replicate pair), "
                      "adjusted by Holm over the 1 model compared with\n  basic_cnn;"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("McNemar p<0.05 in"), std::string::npos) << text;
}

// Runs that computed in different precisions say so, model by model: part of a difference may be
// the precision's.
TEST(ComparisonTable, MixedPrecisionsAreNamedPerModel) {
  std::vector<RunSummary> rows = {run("a", "scratch", 0, 0.5, 1), run("b", "scratch", 0, 0.6, 2),
                                  run("b", "scratch", 1, 0.6, 3)};
  rows[2].precision = "bf16";
  const std::string text = format_comparison(rows, {}, "markdown");  // not wrapped
  EXPECT_NE(text.find("computed in: a fp32 on cpu; b fp32 on cpu and bf16 on cpu "
                      "(runs.compute_precision): a difference between models may be partly the "
                      "precision's."),
            std::string::npos)
      << text;
}

TEST(ComparisonTable, ModelWithoutStatisticsShowsDashes) {
  std::vector<RunSummary> rows = {run("a", "scratch", 0, 0.5, 1)};
  rows[0].status = RunStatus::kInterrupted;
  rows[0].test_accuracy.reset();
  rows[0].error = "stopped by SIGINT; checkpointed at a batch boundary: rerun to resume";
  const std::string text = format_comparison(rows, {}, "table");
  EXPECT_NE(
      text.find(
          "\na       0/1  -                   -  -                                     20    2s\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("\na#1: interrupted: stopped by SIGINT; checkpointed at a batch boundary: "
                      "rerun to resume\n"),
            std::string::npos)
      << text;
}

TEST(ComparisonTable, UnknownFormatIsAnError) {
  const Fixture f;
  EXPECT_THROW_MSG(format_comparison(f.rows, f.stats, "yaml"), Error,
                   "unknown report format 'yaml'; formats: table, markdown, csv, json");
  EXPECT_THROW_MSG(format_summaries(f.rows, "xml"), Error,
                   "unknown report format 'xml'; formats: table, markdown, csv, json");
}

TEST(RunTable, OneRowPerRunWithItsReplicate) {
  const Fixture f;
  const auto lines = lines_of(format_summaries(f.rows, "table"));
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(
      lines[0].rfind("model            rep  strategy            trainable  best val  test acc", 0),
      0u)
      << lines[0];
  EXPECT_EQ(
      lines[3].rfind("basic_cnn          2  scratch               346,465     78.3%     77.3%", 0),
      0u)
      << lines[3];
  EXPECT_EQ(lines.back(), "vgg_fine_tune#5: loss is NaN at epoch 3");

  const auto csv = lines_of(format_summaries(f.rows, "csv"));
  EXPECT_EQ(csv[0].rfind("model,replicate,seed,strategy,", 0), 0u) << csv[0];
  EXPECT_EQ(csv[2].rfind("basic_cnn,1,43,scratch,basic_cnn,completed,346465,", 0), 0u) << csv[2];

  const auto json = nlohmann::json::parse(format_summaries(f.rows, "json"));
  ASSERT_EQ(json.size(), f.rows.size());
  EXPECT_EQ(json[1]["replicate"], 1);
  EXPECT_EQ(json[1]["seed"], 43);
}

TEST(ForestPlot, OneWhiskerPerModelAndADotPerReplicate) {
  const Fixture f;
  const std::string svg = forest_plot_svg(f.rows, f.stats);
  EXPECT_EQ(svg.rfind("<svg class=\"forest\"", 0), 0u);
  // source_pretrain, on its own test images, is named under the plot instead.
  EXPECT_EQ(count_of(svg, "class=\"whisker\""), 4u);
  EXPECT_EQ(count_of(svg, "class=\"mean\""), 4u);
  // 5 + 5 + 4 completed (one failed) + 3.
  EXPECT_EQ(count_of(svg, "class=\"replicate\""), 17u);
  EXPECT_EQ(count_of(svg, "class=\"baseline-line\""), 1u);
  EXPECT_EQ(count_of(svg, "class=\"baseline-row\""), 1u);
  EXPECT_NE(svg.find(">basic_cnn (baseline)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">better (p 0.00420)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">no detectable difference (p 0.410)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">worse (p &lt;0.001)</text>"), std::string::npos);
  EXPECT_NE(svg.find("Not in the plot (evaluated on other test images): source_pretrain."),
            std::string::npos);
}

TEST(HtmlReport, ForestPlotThenTableThenASectionPerModel) {
  const Fixture f;
  const fs::path dir = fs::temp_directory_path() / ("tlr_report_test_" + std::to_string(getpid()));
  fs::remove_all(dir);
  {
    // The rows' runs are not in this store: the sections have no curves and no matrices.
    const Store store = Store::open((dir / "results.db").string());
    const std::string path = write_html_report(
        store, "five_models", (dir / "five_models" / "report.html").string(), f.rows, f.stats);
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    const std::string html = text.str();
    const auto forest = html.find("<svg class=\"forest\"");
    const auto table = html.find("<table id=\"comparison\">");
    const auto section = html.find("<section class=\"model\"");
    ASSERT_NE(forest, std::string::npos);
    ASSERT_NE(table, std::string::npos);
    ASSERT_NE(section, std::string::npos);
    EXPECT_LT(forest, table);
    EXPECT_LT(table, section);
    EXPECT_EQ(count_of(html, "class=\"whisker\""), 4u);
    EXPECT_EQ(count_of(html, "<section class=\"model\""), 5u);
    EXPECT_NE(html.find("<td>3 of 5</td>"), std::string::npos);  // McNemar p<0.05 per pair
    EXPECT_NE(html.find("<li>vgg_fine_tune#5: failed: loss is NaN at epoch 3</li>"),
              std::string::npos);
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tlr
