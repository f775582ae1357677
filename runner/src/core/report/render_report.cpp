// `runner report` and the table after a run: which runs, which baseline, then the statistics.
#include <filesystem>

#include "core/report/model_rows.h"
#include "core/report/report.h"
#include "core/run/results_layout.h"
#include "core/stats/store_statistics.h"
#include "tlr/error.h"

namespace tlr {

std::string render_report(const ReportOptions& options) {
  report::check_format(options.format);  // before the store is read
  if (!std::filesystem::exists(options.db_path)) {
    throw Error(options.db_path + ": error: no results database; run an experiment first");
  }
  Store store = Store::open_for_reading(options.db_path);
  std::string experiment = options.experiment;
  if (experiment.empty()) {
    auto latest = store.latest_experiment();
    if (!latest) throw Error(options.db_path + ": error: no experiment recorded yet");
    experiment = *latest;
  }
  const auto rows =
      options.run_ids.empty() ? store.summaries(experiment) : store.summaries_of(options.run_ids);
  if (rows.empty()) {
    throw Error(options.db_path + ": error: no runs of experiment '" + experiment + "'");
  }
  std::vector<stats::ModelStatistics> statistics;
  if (!options.per_run || !options.html_dir.empty()) {
    // The baseline the invocation recorded (its YAML's choice) unless it recorded none.
    std::int64_t invocation = options.experiment_id;
    if (invocation == 0) invocation = store.latest_invocation(experiment).value_or(0);
    std::string compare_to = invocation != 0 ? store.compare_to(invocation) : "";
    if (compare_to.empty()) compare_to = stats::default_compare_to(rows);
    statistics = stats::statistics_of_runs(store, rows, compare_to);
  }
  std::string text;
  if (options.format == "table" || options.format == "markdown") {
    text = "experiment " + experiment + " (" + options.db_path + ")\n\n";
  }
  text += options.per_run ? format_summaries(rows, options.format)
                          : format_comparison(rows, statistics, options.format);
  if (!options.html_dir.empty()) {
    const std::string path =
        (std::filesystem::path(ResultsLayout(options.html_dir).experiment_dir(experiment)) /
         "report.html")
            .string();
    write_html_report(store, experiment, path, rows, statistics);
    if (options.format == "table") text += "\nreport: " + path + "\n";
  }
  return text;
}

}  // namespace tlr
