// The comparison table (one row per model) and the per-run table, as text, markdown, CSV or JSON.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/report/model_rows.h"
#include "core/report/report.h"
#include "tlr/error.h"

namespace tlr {
namespace {

using report::ModelRow;

constexpr std::size_t kTerminalWidth = 118;  // the reading notes wrap within a 120-column terminal

struct Column {
  std::string title;
  bool right;
};

// Aligned columns separated by two spaces under a rule, or a markdown table.
std::string aligned(const std::vector<Column>& columns,
                    const std::vector<std::vector<std::string>>& table, bool md) {
  std::vector<std::size_t> width(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    width[c] = columns[c].title.size();
    for (const auto& row : table) width[c] = std::max(width[c], row[c].size());
  }
  std::ostringstream out;
  auto line = [&](const std::vector<std::string>& values) {
    std::string text = md ? "| " : "";
    for (std::size_t c = 0; c < values.size(); ++c) {
      const std::string fill(width[c] - values[c].size(), ' ');
      text += columns[c].right ? fill + values[c] : values[c] + fill;
      if (c + 1 < values.size()) text += md ? " | " : "  ";
    }
    if (md) {
      text += " |";
    } else {
      text.erase(text.find_last_not_of(' ') + 1);
    }
    out << text << "\n";
  };
  std::vector<std::string> titles;
  for (const auto& col : columns) titles.push_back(col.title);
  line(titles);
  if (md) {
    out << "|";
    for (std::size_t c = 0; c < columns.size(); ++c) {
      out << (columns[c].right ? std::string(width[c] + 1, '-') + ":|"
                               : std::string(width[c] + 2, '-') + "|");
    }
    out << "\n";
  } else {
    std::size_t total = 0;
    for (auto w : width) total += w + 2;
    out << std::string(total - 2, '-') << "\n";
  }
  for (const auto& row : table) line(row);
  return out.str();
}

// Words filled into lines of at most kTerminalWidth; continuation lines indented by two spaces.
std::string wrapped(const std::string& text) {
  std::istringstream words(text);
  std::string word, line, out;
  while (words >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > kTerminalWidth) {
      out += line + "\n";
      line = "  ";
    }
    line += (line.empty() || line == "  " ? "" : " ") + word;
  }
  if (!line.empty()) out += line + "\n";
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Full precision without noise; NaN and missing values are empty fields.
std::string csv_number(double v) {
  if (!std::isfinite(v)) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}
std::string csv_number(const std::optional<double>& v) { return v ? csv_number(*v) : ""; }
std::string csv_number(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : ""; }

nlohmann::json number_json(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }
nlohmann::json number_json(const std::optional<double>& v) {
  return v ? number_json(*v) : nlohmann::json();
}
nlohmann::json number_json(const std::optional<std::int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

nlohmann::json run_json(const RunSummary& r) {
  return {{"experiment", r.experiment},
          {"run_id", r.run_id},
          {"model", r.model},
          {"replicate", r.replicate},
          {"seed", r.seed},
          {"strategy", r.strategy},
          {"backbone", r.backbone},
          {"status", to_string(r.status)},
          {"trainable_params", number_json(r.trainable_params)},
          {"best_val_acc", number_json(r.best_val_acc)},
          {"test_accuracy", number_json(r.test_accuracy)},
          {"test_precision", number_json(r.test_precision)},
          {"test_recall", number_json(r.test_recall)},
          {"test_f1", number_json(r.test_f1)},
          {"epochs", r.epochs_run},
          {"wall_seconds", number_json(r.wall_seconds)},
          {"images_per_second", number_json(r.mean_images_per_second)},
          {"device", r.device},
          {"compute_precision", r.precision},
          {"error", r.error}};
}

nlohmann::json interval_json(const stats::Interval& i) {
  return {{"n", i.n},
          {"mean", number_json(i.mean)},
          {"sd", number_json(i.sd)},
          {"low", number_json(i.low)},
          {"high", number_json(i.high)},
          {"method", i.method}};
}

nlohmann::json comparison_json(const stats::Comparison& c) {
  nlohmann::json mcnemar = nlohmann::json::array();
  for (const auto& m : c.mcnemar) {
    mcnemar.push_back({{"replicate", m.replicate},
                       {"run_id", m.run_id},
                       {"baseline_run_id", m.baseline_run_id},
                       {"n", m.n},
                       {"model_only", m.model_only},
                       {"baseline_only", m.baseline_only},
                       {"p", number_json(m.p)}});
  }
  return {{"baseline", c.baseline},
          {"pairs", c.pairs},
          {"difference", number_json(c.difference)},
          {"low", number_json(c.low)},
          {"high", number_json(c.high)},
          {"test", c.test},
          {"statistic", number_json(c.statistic)},
          {"df", number_json(c.df)},
          {"p", number_json(c.p)},
          {"p_holm", number_json(c.p_holm)},
          {"verdict", c.verdict},
          {"mcnemar", mcnemar}};
}

std::string comparison_as_json(const std::vector<ModelRow>& rows) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& row : rows) {
    const stats::ModelStatistics* s = row.statistics;
    nlohmann::json runs = nlohmann::json::array();
    for (const RunSummary* r : row.runs) runs.push_back(run_json(*r));
    list.push_back(
        {{"model", row.model},
         {"strategy", row.strategy},
         {"backbone", row.backbone},
         {"completed", row.completed},
         {"replicates", s ? s->replicates : 0},
         {"accuracy", s ? interval_json(s->accuracy) : nlohmann::json()},
         {"f1", s ? interval_json(s->f1) : nlohmann::json()},
         {"is_baseline", s && s->is_baseline},
         {"comparison", s && s->comparison ? comparison_json(*s->comparison) : nlohmann::json()},
         {"note", s ? s->note : std::string()},
         {"trainable_params", number_json(row.trainable_params)},
         {"epochs", number_json(row.epochs)},
         {"wall_seconds", number_json(row.wall_seconds)},
         {"runs", runs}});
  }
  return list.dump(2) + "\n";
}

std::string comparison_as_csv(const std::vector<ModelRow>& rows) {
  std::ostringstream out;
  out << "model,strategy,backbone,runs,completed,accuracy_n,accuracy_mean,accuracy_sd,"
         "accuracy_low,accuracy_high,accuracy_method,f1_n,f1_mean,f1_sd,f1_low,f1_high,f1_method,"
         "baseline,pairs,difference,difference_low,difference_high,test,statistic,df,p,p_holm,"
         "verdict,mcnemar_significant,note,trainable_params,epochs,wall_seconds\n";
  auto interval = [](const stats::Interval& i) {
    return std::to_string(i.n) + ',' + csv_number(i.mean) + ',' + csv_number(i.sd) + ',' +
           csv_number(i.low) + ',' + csv_number(i.high) + ',' + csv_field(i.method);
  };
  for (const auto& row : rows) {
    const stats::ModelStatistics* s = row.statistics;
    out << csv_field(row.model) << ',' << csv_field(row.strategy) << ',' << csv_field(row.backbone)
        << ',' << row.runs.size() << ',' << row.completed << ','
        << (s ? interval(s->accuracy) : ",,,,,") << ',' << (s ? interval(s->f1) : ",,,,,") << ',';
    if (s && s->comparison) {
      const auto& c = *s->comparison;
      out << csv_field(c.baseline) << ',' << c.pairs << ',' << csv_number(c.difference) << ','
          << csv_number(c.low) << ',' << csv_number(c.high) << ',' << csv_field(c.test) << ','
          << csv_number(c.statistic) << ',' << csv_number(c.df) << ',' << csv_number(c.p) << ','
          << csv_number(c.p_holm) << ',' << csv_field(c.verdict) << ','
          << report::significant_mcnemar(c);
    } else {
      out << ",,,,,,,,,," << (s && s->is_baseline ? "baseline" : "") << ',';
    }
    out << ',' << csv_field(s ? s->note : "") << ',' << csv_number(row.trainable_params) << ','
        << csv_number(row.epochs) << ',' << csv_number(row.wall_seconds) << "\n";
  }
  return out.str();
}

std::string comparison_as_text(const std::vector<ModelRow>& rows, bool md) {
  const std::vector<Column> columns = {
      {"model", false},   {"runs", true},           {"test acc (95% CI)", false},
      {"f1", true},       {"diff (95% CI)", false}, {"p (Holm)", true},
      {"verdict", false}, {"epochs", true},         {"time", true}};
  std::vector<std::vector<std::string>> table;
  for (const auto& row : rows) {
    const stats::ModelStatistics* s = row.statistics;
    std::string difference = "-", p, verdict;
    if (s && s->is_baseline) {
      difference = "baseline";
    } else if (s && s->comparison) {
      difference = report::difference_cell(*s->comparison);
      p = report::p_cell(s->comparison->p_holm);
      verdict = s->comparison->verdict;
    }
    table.push_back({row.model, report::runs_cell(row),
                     s ? report::accuracy_cell(s->accuracy) : "-", s ? report::f1_cell(s->f1) : "-",
                     difference, p, verdict, report::epochs_cell(row.epochs),
                     report::seconds_cell(row.wall_seconds)});
  }
  std::string out = aligned(columns, table, md);
  std::vector<std::string> notes = report::reading_notes(rows);
  notes.push_back(
      "Per run (strategy, trainable parameters, precision, recall): runner report "
      "--runs.");
  out += "\n";
  for (const auto& note : notes) out += md ? note + "\n\n" : wrapped(note);
  const auto unfinished = report::unfinished_runs(rows);
  if (!unfinished.empty()) out += "\n";
  for (const auto& line : unfinished) out += (md ? "- " : "") + line + "\n";
  return out;
}

}  // namespace

std::string format_comparison(const std::vector<RunSummary>& rows,
                              const std::vector<stats::ModelStatistics>& stats,
                              const std::string& format) {
  report::check_format(format);
  const auto models = report::model_rows(rows, stats);
  if (format == "json") return comparison_as_json(models);
  if (format == "csv") return comparison_as_csv(models);
  return comparison_as_text(models, format == "markdown");
}

std::string format_summaries(const std::vector<RunSummary>& rows, const std::string& format) {
  report::check_format(format);
  if (format == "json") {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : rows) list.push_back(run_json(r));
    return list.dump(2) + "\n";
  }
  std::ostringstream out;
  if (format == "csv") {
    out << "model,replicate,seed,strategy,backbone,status,trainable_params,best_val_acc,"
           "test_accuracy,test_precision,test_recall,test_f1,epochs,wall_seconds,"
           "images_per_second,device,compute_precision,error\n";
    for (const auto& r : rows) {
      out << csv_field(r.model) << ',' << r.replicate << ',' << r.seed << ','
          << csv_field(r.strategy) << ',' << csv_field(r.backbone) << ',' << to_string(r.status)
          << ',' << csv_number(r.trainable_params) << ',' << csv_number(r.best_val_acc) << ','
          << csv_number(r.test_accuracy) << ',' << csv_number(r.test_precision) << ','
          << csv_number(r.test_recall) << ',' << csv_number(r.test_f1) << ',' << r.epochs_run << ','
          << csv_number(r.wall_seconds) << ',' << csv_number(r.mean_images_per_second) << ','
          << csv_field(r.device) << ',' << csv_field(r.precision) << ',' << csv_field(r.error)
          << "\n";
    }
    return out.str();
  }
  auto percent = [](const std::optional<double>& v) {
    if (!v) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", *v * 100.0);
    return std::string(buf);
  };
  auto fixed = [](const std::optional<double>& v, const char* f) {
    if (!v) return std::string("-");
    char buf[32];
    std::snprintf(buf, sizeof buf, f, *v);
    return std::string(buf);
  };
  const std::vector<Column> columns = {{"model", false},    {"rep", true},      {"strategy", false},
                                       {"trainable", true}, {"best val", true}, {"test acc", true},
                                       {"precision", true}, {"recall", true},   {"f1", true},
                                       {"epochs", true},    {"time", true},     {"img/s", true},
                                       {"compute", false},  {"status", false}};
  std::vector<std::vector<std::string>> table;
  for (const auto& r : rows) {
    table.push_back({r.model, std::to_string(r.replicate + 1), r.strategy,
                     r.trainable_params ? report::thousands(*r.trainable_params) : "-",
                     percent(r.best_val_acc), percent(r.test_accuracy),
                     fixed(r.test_precision, "%.3f"), fixed(r.test_recall, "%.3f"),
                     fixed(r.test_f1, "%.3f"), std::to_string(r.epochs_run),
                     report::seconds_cell(r.wall_seconds), fixed(r.mean_images_per_second, "%.0f"),
                     r.precision + " " + r.device, to_string(r.status)});
  }
  const bool md = format == "markdown";
  out << aligned(columns, table, md);
  bool first = true;
  for (const auto& r : rows) {
    if (r.error.empty()) continue;
    out << (first ? "\n" : "") << (md ? "- " : "") << report::run_label(r) << ": " << r.error
        << "\n";
    first = false;
  }
  return out.str();
}

}  // namespace tlr
