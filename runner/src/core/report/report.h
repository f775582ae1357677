// The comparison table: one row per model of an experiment, its replicates aggregated (mean test
// accuracy with its 95% interval, the paired difference from the baseline with its interval, the
// Holm-adjusted p and a verdict; core/stats/comparison.h defines them), as a terminal table,
// markdown, CSV or JSON; the per-run table (`runner report --runs`); and the HTML report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/stats/comparison.h"
#include "core/store/store.h"

namespace tlr {

struct ReportOptions {
  std::string db_path = "results/results.db";
  std::string experiment;        // "" = the latest experiment in the database
  std::string format = "table";  // table | markdown | csv | json
  std::string html_dir;          // when set, also writes <html_dir>/<experiment>/report.html
  // When not empty, the table and the HTML report show exactly these runs, in this order (the
  // runs one invocation ran, resumed or reused, some maybe recorded by another experiment),
  // instead of the latest runs of each model of `experiment`, which still names the report.
  std::vector<std::int64_t> run_ids;
  // The invocation whose baseline (Store::compare_to) the comparison uses; 0 = the latest
  // invocation of `experiment`. When it names none, the default rule of
  // stats::default_compare_to.
  std::int64_t experiment_id = 0;
  bool per_run = false;  // one row per run (format_summaries) instead of one per model
};

// Throws tlr::Error for an unknown format or experiment, or an unknown id in run_ids.
std::string render_report(const ReportOptions& options);

// The comparison table: one row per model of `rows` (several rows of a model are its replicates),
// in the order the models first appear, with the statistics `stats` of those models (matched by
// name; a model without statistics shows "-"). Runs not completed are counted in "runs" and listed
// with their error under the table. Throws tlr::Error for an unknown format.
std::string format_comparison(const std::vector<RunSummary>& rows,
                              const std::vector<stats::ModelStatistics>& stats,
                              const std::string& format);

// The per-run table: one row per run, with its replicate (1-based in the table and markdown,
// 0-based in CSV and JSON, as stored). Throws tlr::Error for an unknown format.
std::string format_summaries(const std::vector<RunSummary>& rows, const std::string& format);

// Writes a self-contained report.html (forest plot of test accuracy, statistics table, per model
// the accuracy and loss curves of its replicates overlaid and the test confusion matrix summed
// over them; no network needed to view it) of `rows` and their statistics, and returns its path.
// The store supplies the epochs and confusion matrices of the runs.
std::string write_html_report(const Store& store, const std::string& experiment,
                              const std::string& path, const std::vector<RunSummary>& rows,
                              const std::vector<stats::ModelStatistics>& stats);

// The forest plot of report.html alone, an inline <svg> (for tests): per model one whisker
// (class "whisker") of its 95% interval, its mean (class "mean"), one faint dot (class
// "replicate") per completed replicate, the baseline's mean as a dashed line (class
// "baseline-line") and the verdict at the right.
std::string forest_plot_svg(const std::vector<RunSummary>& rows,
                            const std::vector<stats::ModelStatistics>& stats);

}  // namespace tlr
