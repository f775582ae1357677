#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/report/report.h"
#include "core/run/results_layout.h"
#include "tlr/error.h"

namespace tlr {
namespace {

std::string percent(const std::optional<double>& v) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", *v * 100.0);
  return buf;
}

std::string fixed(const std::optional<double>& v, const char* format) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

std::string count(const std::optional<std::int64_t>& v) {
  if (!v) return "-";
  std::string digits = std::to_string(*v);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

struct Column {
  const char* title;
  bool right;
};

const std::vector<Column> kColumns = {{"model", false},   {"strategy", false}, {"trainable", true},
                                      {"best val", true}, {"test acc", true},  {"precision", true},
                                      {"recall", true},   {"f1", true},        {"epochs", true},
                                      {"time", true},     {"img/s", true},     {"status", false}};

std::vector<std::string> cells(const RunSummary& r) {
  return {r.model,
          r.strategy,
          count(r.trainable_params),
          percent(r.best_val_acc),
          percent(r.test_accuracy),
          fixed(r.test_precision, "%.3f"),
          fixed(r.test_recall, "%.3f"),
          fixed(r.test_f1, "%.3f"),
          std::to_string(r.epochs_run),
          r.wall_seconds ? fixed(r.wall_seconds, "%.0fs") : "-",
          fixed(r.mean_images_per_second, "%.0f"),
          to_string(r.status)};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

nlohmann::json optional_json(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

}  // namespace

std::string format_summaries(const std::vector<RunSummary>& rows, const std::string& format) {
  std::ostringstream out;
  if (format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : rows) {
      list.push_back({{"experiment", r.experiment},
                      {"run_id", r.run_id},
                      {"model", r.model},
                      {"strategy", r.strategy},
                      {"backbone", r.backbone},
                      {"status", to_string(r.status)},
                      {"trainable_params",
                       r.trainable_params ? nlohmann::json(*r.trainable_params) : nlohmann::json()},
                      {"best_val_acc", optional_json(r.best_val_acc)},
                      {"test_accuracy", optional_json(r.test_accuracy)},
                      {"test_precision", optional_json(r.test_precision)},
                      {"test_recall", optional_json(r.test_recall)},
                      {"test_f1", optional_json(r.test_f1)},
                      {"epochs", r.epochs_run},
                      {"wall_seconds", optional_json(r.wall_seconds)},
                      {"images_per_second", optional_json(r.mean_images_per_second)},
                      {"error", r.error}});
    }
    return list.dump(2) + "\n";
  }
  if (format == "csv") {
    out << "model,strategy,backbone,status,trainable_params,best_val_acc,test_accuracy,"
           "test_precision,test_recall,test_f1,epochs,wall_seconds,images_per_second,error\n";
    auto num = [](const auto& v) { return v ? std::to_string(*v) : std::string(); };
    for (const auto& r : rows) {
      out << csv_field(r.model) << ',' << csv_field(r.strategy) << ',' << csv_field(r.backbone)
          << ',' << to_string(r.status) << ',' << num(r.trainable_params) << ','
          << num(r.best_val_acc) << ',' << num(r.test_accuracy) << ',' << num(r.test_precision)
          << ',' << num(r.test_recall) << ',' << num(r.test_f1) << ',' << r.epochs_run << ','
          << num(r.wall_seconds) << ',' << num(r.mean_images_per_second) << ','
          << csv_field(r.error) << "\n";
    }
    return out.str();
  }
  if (format != "table" && format != "markdown") {
    throw Error("unknown report format '" + format + "'; formats: table, markdown, csv, json");
  }
  std::vector<std::vector<std::string>> table;
  table.reserve(rows.size());
  for (const auto& r : rows) table.push_back(cells(r));
  std::vector<std::size_t> width(kColumns.size());
  for (std::size_t c = 0; c < kColumns.size(); ++c) {
    width[c] = std::string(kColumns[c].title).size();
    for (const auto& row : table) width[c] = std::max(width[c], row[c].size());
  }
  auto pad = [&](const std::string& s, std::size_t c) {
    std::string fill(width[c] - s.size(), ' ');
    return kColumns[c].right ? fill + s : s + fill;
  };
  const bool md = format == "markdown";
  auto line = [&](const std::vector<std::string>& values) {
    out << (md ? "| " : "");
    for (std::size_t c = 0; c < values.size(); ++c) {
      out << pad(values[c], c) << (c + 1 < values.size() ? (md ? " | " : "  ") : (md ? " |" : ""));
    }
    out << "\n";
  };
  std::vector<std::string> titles;
  titles.reserve(kColumns.size());
  for (const auto& col : kColumns) titles.emplace_back(col.title);
  line(titles);
  if (md) {
    out << "|";
    for (std::size_t c = 0; c < kColumns.size(); ++c) {
      out << (kColumns[c].right ? std::string(width[c] + 1, '-') + ":|"
                                : std::string(width[c] + 2, '-') + "|");
    }
    out << "\n";
  } else {
    std::size_t total = 0;
    for (auto w : width) total += w + 2;
    out << std::string(total - 2, '-') << "\n";
  }
  for (const auto& row : table) line(row);
  for (const auto& r : rows) {
    if (!r.error.empty()) out << (md ? "\n" : "") << r.model << ": " << r.error << "\n";
  }
  return out.str();
}

std::string render_report(const ReportOptions& options) {
  if (!std::filesystem::exists(options.db_path)) {
    throw Error(options.db_path + ": error: no results database; run an experiment first");
  }
  Store store = Store::open(options.db_path);
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
  std::string text;
  if (options.format == "table" || options.format == "markdown") {
    text = "experiment " + experiment + " (" + options.db_path + ")\n\n";
  }
  text += format_summaries(rows, options.format);
  if (!options.html_dir.empty()) {
    const std::string path =
        (std::filesystem::path(ResultsLayout(options.html_dir).experiment_dir(experiment)) /
         "report.html")
            .string();
    write_html_report(store, experiment, path, options.run_ids);
    if (options.format == "table") text += "\nreport: " + path + "\n";
  }
  return text;
}

}  // namespace tlr
