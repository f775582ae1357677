// `runner report`: the comparison table of recorded runs (one row per model, its replicates
// aggregated, with intervals and tests), or one row per run; from results.db alone.
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/report/report.h"

namespace tlr::cli {

int report_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "experiment", po::value<std::string>()->default_value(""),
      "the experiment to report (default: the latest recorded)")(
      "format", po::value<std::string>()->default_value("table"), "table | markdown | csv | json")(
      "db", po::value<std::string>()->default_value("results/results.db"), "the results database")(
      "runs",
      "one row per run (its replicate, strategy, trainable parameters, best validation "
      "accuracy, precision, recall, images/s) instead of one per model")(
      "html", po::value<std::string>(),
      "also write <DIR>/<experiment>/report.html (default: no HTML)");
  po::positional_options_description positional;
  po::variables_map vm;
  bool help = false;
  if (!parse(
          "report",
          "usage: runner report [--experiment NAME] [--format table|markdown|csv|json] [--runs]\n"
          "\n"
          "One row per model, its replicates (the latest run of each) aggregated: completed\n"
          "runs, mean test accuracy with its 95% interval (t over the replicates; Wilson over\n"
          "the test images for one run), mean F1, the difference from the baseline in\n"
          "percentage points with its 95% interval, the p-value of a paired t-test over the\n"
          "replicate differences (exact McNemar with one pair) adjusted by Holm over the\n"
          "models compared with the baseline, the verdict at alpha 0.05, mean epochs and the\n"
          "total wall time. The baseline is the experiment's compare_to, by default its first\n"
          "scratch model. JSON carries every statistic and each model's runs.\n",
          options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  ReportOptions report;
  report.db_path = vm["db"].as<std::string>();
  report.experiment = vm["experiment"].as<std::string>();
  report.format = vm["format"].as<std::string>();
  report.per_run = vm.count("runs") > 0;
  if (vm.count("html")) report.html_dir = vm["html"].as<std::string>();
  try {
    std::cout << render_report(report);
  } catch (const std::exception& e) {
    std::cerr << "runner report: " << e.what() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}

}  // namespace tlr::cli
