// The comparison table: one row per model of an experiment (its latest run), like the final
// test section of the write-ups in docs/experiments.md, as a terminal table, markdown, CSV or JSON;
// and the HTML report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/store/store.h"

namespace tlr {

struct ReportOptions {
  std::string db_path = "results/results.db";
  std::string experiment;        // "" = the latest experiment in the database
  std::string format = "table";  // table | markdown | csv | json
  std::string html_dir;          // when set, also writes <html_dir>/<experiment>/report.html
  // When not empty, the table and the HTML report show exactly these runs, in this order (the
  // runs one invocation ran, resumed or reused, some maybe recorded by another experiment),
  // instead of the latest run of each model of `experiment`, which still names the report.
  std::vector<std::int64_t> run_ids;
};

// Throws tlr::Error for an unknown format or experiment, or an unknown id in run_ids.
std::string render_report(const ReportOptions& options);

// The table alone, from summaries (for tests).
std::string format_summaries(const std::vector<RunSummary>& rows, const std::string& format);

// Writes a self-contained report.html (comparison table, per-model accuracy and loss curves,
// confusion matrices; no network needed to view it) and returns its path. It shows the latest
// run of each model of `experiment`, or exactly `run_ids` in that order when not empty.
std::string write_html_report(const Store& store, const std::string& experiment,
                              const std::string& path,
                              const std::vector<std::int64_t>& run_ids = {});

}  // namespace tlr
