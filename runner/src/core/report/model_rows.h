// What the comparison table, its CSV/JSON and report.html share: the runs of each model grouped
// with its statistics, the cells' number formats, and the lines that say how to read the table.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/stats/comparison.h"
#include "core/store/store.h"

namespace tlr::report {

constexpr double kAlpha = 0.05;  // the level of comparison.h's verdicts

struct ModelRow {
  std::string model, strategy, backbone;               // strategy and backbone of its first run
  std::vector<const RunSummary*> runs;                 // its rows, in the order given
  const stats::ModelStatistics* statistics = nullptr;  // nullptr when it has none
  int completed = 0;
  std::optional<double> epochs;        // mean epochs run of the completed runs (of all if none)
  std::optional<double> wall_seconds;  // sum over its runs; nullopt when none recorded one
  std::optional<std::int64_t> trainable_params;  // of its first run that recorded it
};

// Throws tlr::Error unless `format` is table, markdown, csv or json.
void check_format(const std::string& format);

// One row per model of `rows`, in the order the models first appear; pointers into the arguments.
std::vector<ModelRow> model_rows(const std::vector<RunSummary>& rows,
                                 const std::vector<stats::ModelStatistics>& stats);

// "model#r" with r 1-based: how the text formats name one replicate.
std::string run_label(const RunSummary& run);
// "5" when every run completed, else "completed/all" ("4/5").
std::string runs_cell(const ModelRow& row);
// "77.6% [76.9, 78.3]"; "77.6%" without an interval; "-" without a value.
std::string accuracy_cell(const stats::Interval& accuracy);
// "0.756"; "-" without a value.
std::string f1_cell(const stats::Interval& f1);
// The difference in percentage points with sign: "+1.8 [+1.0, +2.6]".
std::string difference_cell(const stats::Comparison& comparison);
// Three significant digits, "<0.001" below it; "-" for NaN.
std::string p_cell(double p);
std::string epochs_cell(const std::optional<double>& epochs);
std::string seconds_cell(const std::optional<double>& seconds);  // "93s"
std::string thousands(std::int64_t value);                       // "1,253,304"
// The replicate pairs whose McNemar p is below alpha.
int significant_mcnemar(const stats::Comparison& comparison);

// How to read the table: the interval method, the test, the multiplicity correction and alpha,
// the per-pair McNemar counts, why a model is not compared; one sentence each.
std::vector<std::string> reading_notes(const std::vector<ModelRow>& rows);
// "computed in fp32 on cpu (every run; ...)" or, when runs differ, each model's precision and
// device; "" without runs. The last of reading_notes.
std::string compute_note(const std::vector<ModelRow>& rows);
// "model#r: status: error" for every run that did not complete.
std::vector<std::string> unfinished_runs(const std::vector<ModelRow>& rows);

}  // namespace tlr::report
