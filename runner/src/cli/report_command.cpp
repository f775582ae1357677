// `runner report`: the comparison table of recorded runs, from results.db alone.
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
      "html", po::value<std::string>(),
      "also write <DIR>/<experiment>/report.html (default: no HTML)");
  po::positional_options_description positional;
  po::variables_map vm;
  bool help = false;
  if (!parse("report",
             "usage: runner report [--experiment NAME] [--format table|markdown|csv|json]\n\n"
             "One row per model (its latest run): strategy, trainable parameters, best validation\n"
             "accuracy, test accuracy/precision/recall/F1, epochs, wall time, images/s.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  ReportOptions report;
  report.db_path = vm["db"].as<std::string>();
  report.experiment = vm["experiment"].as<std::string>();
  report.format = vm["format"].as<std::string>();
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
