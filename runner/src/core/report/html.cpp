// report.html: one self-contained page (inline CSS and SVG, no script, no network): a forest plot
// of the models' test accuracy with their intervals and verdicts, the statistics table, then per
// model its replicates' training curves overlaid (accuracy and loss, train vs validation, like the
// side-by-side plots of cats_vs_dogs_vgg16.yaml's original, docs/experiments.md) and its test
// confusion matrix.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/report/model_rows.h"
#include "core/report/report.h"
#include "engine/util/atomic_file.h"
#include "tlr/error.h"

namespace tlr {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v, const char* format = "%.3f") {
  char buf[32];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

struct Series {
  std::string label, color;    // an empty label has no legend entry (a replicate after the first)
  std::vector<double> values;  // NaN for a missing point
  double width = 2;
  double opacity = 1;
  bool markers = true;  // a point per epoch (a single point always has one)
};

// A line chart of per-epoch values; epochs of every phase laid end to end.
std::string chart(const std::string& title, const std::vector<Series>& series) {
  const double w = 360, h = 220, left = 44, right = 12, top = 24, bottom = 30;
  double lo = INFINITY, hi = -INFINITY;
  std::size_t n = 0;
  for (const auto& s : series) {
    n = std::max(n, s.values.size());
    for (double v : s.values) {
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  std::ostringstream svg;
  svg << "<svg class=\"chart\" viewBox=\"0 0 " << w << " " << h << "\" role=\"img\" aria-label=\""
      << escape(title) << "\"><text x=\"" << left << "\" y=\"15\" class=\"title\">" << escape(title)
      << "</text>";
  if (n == 0 || !std::isfinite(lo)) {
    svg << "<text x=\"" << left << "\" y=\"" << h / 2 << "\">no epochs recorded</text></svg>";
    return svg.str();
  }
  if (hi - lo < 1e-9) hi = lo + 1e-3, lo -= 1e-3;
  const double pad = (hi - lo) * 0.05;
  lo -= pad, hi += pad;
  auto x = [&](std::size_t i) {
    return left + (w - left - right) * (n == 1 ? 0.5 : double(i) / double(n - 1));
  };
  auto y = [&](double v) { return top + (h - top - bottom) * (1 - (v - lo) / (hi - lo)); };
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << w - left - right
      << "\" height=\"" << h - top - bottom << "\" class=\"frame\"/>";
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4;
    svg << "<text x=\"" << left - 4 << "\" y=\"" << y(v) + 4 << "\" class=\"tick\" "
        << "text-anchor=\"end\">" << num(v, hi - lo < 0.05 ? "%.3f" : "%.2f") << "</text>";
  }
  svg << "<text x=\"" << left << "\" y=\"" << h - 8 << "\" class=\"tick\">1</text><text x=\""
      << w - right << "\" y=\"" << h - 8 << "\" class=\"tick\" text-anchor=\"end\">" << n
      << "</text><text x=\"" << (left + w - right) / 2 << "\" y=\"" << h - 8
      << "\" class=\"tick\" text-anchor=\"middle\">epoch</text>";
  double legend_x = left + 150;
  for (const auto& s : series) {
    std::string points;
    for (std::size_t i = 0; i < s.values.size(); ++i) {
      if (std::isfinite(s.values[i]))
        points += num(x(i), "%.1f") + "," + num(y(s.values[i]), "%.1f") + " ";
    }
    svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"" << s.width
        << "\" stroke-opacity=\"" << s.opacity << "\" points=\"" << points << "\"/>";
    // Markers keep a one-epoch run (a single point) visible.
    if ((s.markers && s.values.size() <= 40) || s.values.size() == 1) {
      for (std::size_t i = 0; i < s.values.size(); ++i) {
        if (!std::isfinite(s.values[i])) continue;
        svg << "<circle cx=\"" << num(x(i), "%.1f") << "\" cy=\"" << num(y(s.values[i]), "%.1f")
            << "\" r=\"2.5\" fill=\"" << s.color << "\"/>";
      }
    }
    if (s.label.empty()) continue;
    svg << "<text x=\"" << legend_x << "\" y=\"15\" fill=\"" << s.color << "\" class=\"tick\">"
        << escape(s.label) << "</text>";
    legend_x += 80;
  }
  svg << "</svg>";
  return svg.str();
}

std::string confusion_table(const ConfusionMatrix& m) {
  std::int64_t peak = 1;
  for (const auto& row : m.counts) {
    for (auto c : row) peak = std::max(peak, c);
  }
  std::ostringstream out;
  out << "<table class=\"confusion\"><tr><th>true \\ predicted</th>";
  for (const auto& c : m.classes) out << "<th>" << escape(c) << "</th>";
  out << "</tr>";
  for (std::size_t i = 0; i < m.counts.size(); ++i) {
    out << "<tr><th>" << escape(m.classes[i]) << "</th>";
    for (std::size_t j = 0; j < m.counts[i].size(); ++j) {
      const double shade = double(m.counts[i][j]) / double(peak);
      out << "<td style=\"background:rgba(" << (i == j ? "46,125,50" : "198,40,40") << ","
          << num(0.1 + 0.6 * shade, "%.2f") << ")\">" << m.counts[i][j] << "</td>";
    }
    out << "</tr>";
  }
  out << "</table>";
  return out.str();
}

double value_or_nan(const std::optional<double>& v) { return v ? *v : NAN; }

// One colour per model, the same in the forest plot and the model's section.
const char* model_color(std::size_t i) {
  static const char* const kPalette[] = {"#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828",
                                         "#00838f", "#ad1457", "#4e342e", "#558b2f", "#283593"};
  return kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
}

bool completed_with_accuracy(const RunSummary& r) {
  return r.status == RunStatus::kCompleted && r.test_accuracy.has_value();
}

bool has_interval(const stats::ModelStatistics* s) {
  return s && s->accuracy.n > 0 && std::isfinite(s->accuracy.low) &&
         std::isfinite(s->accuracy.high);
}

// The verdict written at the right of a model's row.
std::string verdict_text(const stats::ModelStatistics* s) {
  if (!s || s->replicates == 0) return "no completed run";
  if (s->is_baseline) return "baseline";
  if (s->comparison) {
    return s->comparison->verdict + " (p " + report::p_cell(s->comparison->p_holm) + ")";
  }
  return s->note.empty() ? "not compared" : "not compared: " + s->note;
}

// Tick spacing of about five ticks over a span of `span` percentage points.
double tick_step(double span) {
  for (double step : {0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0}) {
    if (span / step <= 6) return step;
  }
  return 25;
}

// A model evaluated on other test images than its baseline (a source pretraining stage on its own
// classes) would stretch the axis far from the compared models; it is named under the plot.
bool on_other_test_images(const report::ModelRow& row) {
  return row.statistics && !row.statistics->is_baseline && !row.statistics->comparison &&
         row.statistics->note.find("test set differs") != std::string::npos;
}

std::string forest_plot_of(const std::vector<report::ModelRow>& rows);

std::string forest_plot(const std::vector<report::ModelRow>& all_rows) {
  std::vector<report::ModelRow> rows;
  std::string left_out;
  for (const auto& row : all_rows) {
    if (on_other_test_images(row)) {
      left_out += (left_out.empty() ? "" : ", ") + row.model;
    } else {
      rows.push_back(row);
    }
  }
  std::string svg_text = forest_plot_of(rows);
  if (!left_out.empty()) {
    svg_text +=
        "<p class=\"note\">Not in the plot (evaluated on other test images): " + escape(left_out) +
        ".</p>";
  }
  return svg_text;
}

std::string forest_plot_of(const std::vector<report::ModelRow>& rows) {
  const double w = 960, label_w = 190, verdict_w = 230, row_h = 24, top = 26, bottom = 38;
  const double x0 = label_w, x1 = w - verdict_w;
  const double h = top + row_h * double(rows.size()) + bottom;
  double lo = INFINITY, hi = -INFINITY;
  auto extend = [&](double v) {
    if (std::isfinite(v)) lo = std::min(lo, v * 100), hi = std::max(hi, v * 100);
  };
  for (const auto& row : rows) {
    if (has_interval(row.statistics)) {
      extend(row.statistics->accuracy.low);
      extend(row.statistics->accuracy.high);
    }
    if (row.statistics && row.statistics->accuracy.n > 0) extend(row.statistics->accuracy.mean);
    for (const RunSummary* r : row.runs) {
      if (completed_with_accuracy(*r)) extend(*r->test_accuracy);
    }
  }
  std::ostringstream svg;
  svg << "<svg class=\"forest\" viewBox=\"0 0 " << w << " " << h << "\" width=\"" << w
      << "\" role=\"img\" aria-label=\"test accuracy per model with 95% intervals\">"
      << "<text x=\"" << x0 << "\" y=\"15\" class=\"title\">test accuracy (%), mean and 95% "
      << "interval; faint dots: replicates</text>";
  if (!std::isfinite(lo)) {
    svg << "<text x=\"" << x0 << "\" y=\"" << top + 14 << "\">no completed run</text></svg>";
    return svg.str();
  }
  if (hi - lo < 0.5) lo -= 0.25, hi += 0.25;
  const double pad = (hi - lo) * 0.06;
  lo = std::max(0.0, lo - pad), hi = std::min(100.0, hi + pad);
  auto x = [&](double fraction) { return x0 + (x1 - x0) * (fraction * 100 - lo) / (hi - lo); };
  auto y = [&](std::size_t i) { return top + row_h * (double(i) + 0.5); };
  const double plot_bottom = top + row_h * double(rows.size());
  svg << "<rect x=\"" << x0 << "\" y=\"" << top << "\" width=\"" << x1 - x0 << "\" height=\""
      << plot_bottom - top << "\" class=\"frame\"/>";
  const double step = tick_step(hi - lo);
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9; t += step) {
    const double tx = x(t / 100);
    svg << "<line x1=\"" << num(tx, "%.1f") << "\" y1=\"" << top << "\" x2=\"" << num(tx, "%.1f")
        << "\" y2=\"" << plot_bottom << "\" class=\"grid\"/><text x=\"" << num(tx, "%.1f")
        << "\" y=\"" << plot_bottom + 14 << "\" class=\"tick\" text-anchor=\"middle\">"
        << num(t, step < 1 ? "%.1f" : "%.0f") << "</text>";
  }
  svg << "<text x=\"" << (x0 + x1) / 2 << "\" y=\"" << h - 6
      << "\" class=\"tick\" text-anchor=\"middle\">test accuracy (%)</text>";
  // Each baseline's mean, dashed over its own row and the rows of the models compared with it.
  for (std::size_t b = 0; b < rows.size(); ++b) {
    const auto* base = rows[b].statistics;
    if (!base || !base->is_baseline || base->accuracy.n == 0) continue;
    std::size_t first = b, last = b;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto* s = rows[i].statistics;
      if (s && s->comparison && s->comparison->baseline == rows[b].model) {
        first = std::min(first, i), last = std::max(last, i);
      }
    }
    const double bx = x(base->accuracy.mean);
    svg << "<line class=\"baseline-line\" x1=\"" << num(bx, "%.1f") << "\" y1=\""
        << y(first) - row_h / 2 << "\" x2=\"" << num(bx, "%.1f") << "\" y2=\""
        << y(last) + row_h / 2 << "\"/>";
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto* s = row.statistics;
    const char* color = model_color(i);
    const double cy = y(i);
    const bool baseline = s && s->is_baseline;
    if (baseline) {
      svg << "<rect class=\"baseline-row\" x=\"0\" y=\"" << cy - row_h / 2 << "\" width=\"" << w
          << "\" height=\"" << row_h << "\"/>";
    }
    svg << "<text x=\"" << x0 - 8 << "\" y=\"" << cy + 4 << "\" text-anchor=\"end\" class=\"label"
        << (baseline ? " baseline" : "") << "\">" << escape(row.model)
        << (baseline ? " (baseline)" : "") << "</text>";
    for (const RunSummary* r : row.runs) {
      if (!completed_with_accuracy(*r)) continue;
      svg << "<circle class=\"replicate\" cx=\"" << num(x(*r->test_accuracy), "%.1f") << "\" cy=\""
          << cy << "\" r=\"3.5\" fill=\"" << color << "\"><title>" << escape(report::run_label(*r))
          << ": " << num(*r->test_accuracy * 100, "%.1f%%") << "</title></circle>";
    }
    if (has_interval(s)) {
      const double a = x(s->accuracy.low), b = x(s->accuracy.high);
      svg << "<path class=\"whisker\" stroke=\"" << color << "\" d=\"M" << num(a, "%.1f") << " "
          << cy - 5 << "V" << cy + 5 << "M" << num(a, "%.1f") << " " << cy << "H" << num(b, "%.1f")
          << "M" << num(b, "%.1f") << " " << cy - 5 << "V" << cy + 5 << "\"/>";
    }
    if (s && s->accuracy.n > 0 && std::isfinite(s->accuracy.mean)) {
      svg << "<rect class=\"mean\" x=\"" << num(x(s->accuracy.mean) - 4.5, "%.1f") << "\" y=\""
          << cy - 4.5 << "\" width=\"9\" height=\"9\" fill=\"" << color << "\"><title>"
          << escape(row.model) << ": " << escape(report::accuracy_cell(s->accuracy))
          << "</title></rect>";
    }
    const std::string verdict = verdict_text(s);
    const bool decided = s && s->comparison && s->comparison->verdict != "no detectable difference";
    svg << "<text x=\"" << x1 + 10 << "\" y=\"" << cy + 4 << "\" class=\"verdict"
        << (decided ? " decided" : "") << "\">" << escape(verdict) << "</text>";
  }
  svg << "</svg>";
  return svg.str();
}

std::string statistics_table(const std::vector<report::ModelRow>& rows) {
  std::ostringstream html;
  html << "<div style=\"overflow-x:auto\"><table id=\"comparison\"><tr><th>model</th>"
       << "<th class=\"text\">strategy</th><th>runs</th>"
       << "<th>test acc (95% CI)</th><th>F1</th><th>diff, pp (95% CI)</th><th>test</th>"
       << "<th>p</th><th>p (Holm)</th><th class=\"text\">verdict</th><th>McNemar p&lt;.05</th>"
       << "<th>trainable</th><th>epochs</th><th>time</th></tr>";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto* s = row.statistics;
    std::string difference = "-", test, p, p_holm, verdict, mcnemar;
    if (s && s->is_baseline) {
      difference = "baseline";
    } else if (s && s->comparison) {
      const auto& c = *s->comparison;
      difference = report::difference_cell(c);
      test = c.test == "paired_t" ? "t, df " + num(c.df, "%.0f") : "McNemar";
      p = report::p_cell(c.p);
      p_holm = report::p_cell(c.p_holm);
      verdict = c.verdict;
      mcnemar = std::to_string(report::significant_mcnemar(c)) + " of " +
                std::to_string(c.mcnemar.size());
    } else if (s && !s->note.empty()) {
      verdict = "not compared";  // why: in the notes under the table
    }
    html << "<tr><td><a href=\"#model-" << i << "\">" << escape(row.model)
         << "</a></td><td class=\"text\">" << escape(row.strategy) << "</td><td"
         << (row.completed < int(row.runs.size()) ? " class=\"failed\"" : "") << ">"
         << report::runs_cell(row) << "</td><td>"
         << (s ? escape(report::accuracy_cell(s->accuracy)) : "-") << "</td><td>"
         << (s ? report::f1_cell(s->f1) : "-") << "</td><td>" << escape(difference) << "</td><td>"
         << escape(test) << "</td><td>" << escape(p) << "</td><td>" << escape(p_holm)
         << "</td><td class=\"text\">" << escape(verdict) << "</td><td>" << mcnemar << "</td><td>"
         << (row.trainable_params ? report::thousands(*row.trainable_params) : "-") << "</td><td>"
         << report::epochs_cell(row.epochs) << "</td><td>" << report::seconds_cell(row.wall_seconds)
         << "</td></tr>";
  }
  html << "</table></div>";
  for (const auto& note : report::reading_notes(rows)) {
    html << "<p class=\"note\">" << escape(note) << "</p>";
  }
  const auto unfinished = report::unfinished_runs(rows);
  if (!unfinished.empty()) {
    html << "<ul class=\"failed\">";
    for (const auto& line : unfinished) html << "<li>" << escape(line) << "</li>";
    html << "</ul>";
  }
  return html.str();
}

// The test confusion matrices of the model's completed runs, summed when they share the classes
// (else the first one), and what the caption should say.
std::optional<ConfusionMatrix> summed_confusion(const Store& store, const report::ModelRow& row,
                                                std::string* caption) {
  std::optional<ConfusionMatrix> sum;
  std::string first;
  int summed = 0;
  for (const RunSummary* r : row.runs) {
    if (r->status != RunStatus::kCompleted) continue;
    auto m = store.confusion(r->run_id, "test");
    if (!m) continue;
    if (!sum) {
      sum = std::move(*m);
      summed = 1;
      first = report::run_label(*r);
      *caption = "test confusion matrix (" + first + ")";
      continue;
    }
    if (m->classes != sum->classes || m->counts.size() != sum->counts.size()) {
      *caption = "test confusion matrix (" + first + "; the replicates' classes differ)";
      return sum;
    }
    for (std::size_t i = 0; i < m->counts.size(); ++i) {
      for (std::size_t j = 0; j < m->counts[i].size() && j < sum->counts[i].size(); ++j) {
        sum->counts[i][j] += m->counts[i][j];
      }
    }
    ++summed;
  }
  if (summed > 1) {
    *caption = "test confusion matrix, summed over " + std::to_string(summed) + " replicates";
  }
  return sum;
}

std::string model_section(const Store& store, const report::ModelRow& row, std::size_t index) {
  std::ostringstream html;
  html << "<section class=\"model\" id=\"model-" << index << "\"><h2>" << escape(row.model)
       << "</h2><p>strategy " << escape(row.strategy) << ", backbone " << escape(row.backbone)
       << "; runs:";
  for (std::size_t k = 0; k < row.runs.size(); ++k) {
    const RunSummary& r = *row.runs[k];
    html << (k ? ";" : "") << " #" << r.replicate + 1 << " run " << r.run_id << ", seed " << r.seed;
    if (!r.config_hash.empty()) html << ", config " << escape(r.config_hash.substr(0, 12));
    if (r.status != RunStatus::kCompleted) html << ", " << to_string(r.status);
  }
  html << (row.runs.size() > 1 ? ". Curves of the replicates overlaid." : "") << "</p>";
  for (const RunSummary* r : row.runs) {
    if (!r->error.empty()) {
      html << "<p class=\"failed\">" << escape(report::run_label(*r)) << ": " << escape(r->error)
           << "</p>";
    }
  }
  // Replicates overlaid: thin lines of one colour per curve, the legend once.
  const bool several = row.runs.size() > 1;
  std::vector<Series> acc, loss;
  for (const RunSummary* r : row.runs) {
    Series train_acc{acc.empty() ? "train" : "", "#1565c0", {}};
    Series val_acc{acc.empty() ? "validation" : "", "#ef6c00", {}};
    Series train_loss = train_acc, val_loss = val_acc;
    for (const auto& e : store.epochs(r->run_id)) {
      train_acc.values.push_back(value_or_nan(e.train_acc));
      val_acc.values.push_back(value_or_nan(e.val_acc));
      train_loss.values.push_back(value_or_nan(e.train_loss));
      val_loss.values.push_back(value_or_nan(e.val_loss));
    }
    for (Series* s : {&train_acc, &val_acc, &train_loss, &val_loss}) {
      if (several) s->width = 1.2, s->opacity = 0.6, s->markers = false;
    }
    acc.push_back(train_acc), acc.push_back(val_acc);
    loss.push_back(train_loss), loss.push_back(val_loss);
  }
  html << "<div class=\"charts\">" << chart("accuracy", acc) << chart("loss", loss);
  std::string caption;
  if (auto m = summed_confusion(store, row, &caption)) {
    html << "<div><p class=\"title\">" << escape(caption) << "</p>" << confusion_table(*m)
         << "</div>";
  }
  html << "</div></section>";
  return html.str();
}

}  // namespace

std::string forest_plot_svg(const std::vector<RunSummary>& rows,
                            const std::vector<stats::ModelStatistics>& stats) {
  return forest_plot(report::model_rows(rows, stats));
}

std::string write_html_report(const Store& store, const std::string& experiment,
                              const std::string& path, const std::vector<RunSummary>& rows,
                              const std::vector<stats::ModelStatistics>& stats) {
  const auto models = report::model_rows(rows, stats);
  std::ostringstream html;
  html << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>tlr: "
       << escape(experiment) << "</title><style>"
       << "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1280px}"
       << "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;"
       << "padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,"
       << "th:first-child{text-align:left}.model{margin:24px 0;border-top:1px solid #ddd}"
       << ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart{width:360px;height:220px}"
       << "#comparison td,#comparison th{white-space:nowrap;font-size:12px;padding:3px 5px}"
       << "#comparison .text{text-align:left}"
       << ".forest{max-width:100%;height:auto}.grid{stroke:#eee}.label{font-size:12px}"
       << ".label.baseline{font-weight:600}.baseline-row{fill:#fff8e1}"
       << ".baseline-line{stroke:#555;stroke-dasharray:4 3}.replicate{fill-opacity:0.35}"
       << ".whisker{fill:none;stroke-width:2}.verdict{font-size:12px;fill:#555}"
       << ".verdict.decided{fill:#222;font-weight:600}.note{font-size:13px;color:#444;margin:4px 0}"
       << ".frame{fill:none;stroke:#bbb}.tick{font-size:10px;fill:#555}.title{font-size:12px;"
       << "font-weight:600}.failed{color:#b71c1c}</style></head><body>";
  html << "<h1>" << escape(experiment) << "</h1><p>" << models.size() << " models, " << rows.size()
       << " runs (the runs of a model are its replicates). Test metrics at each "
       << "run's best-validation checkpoint.</p>";
  html << forest_plot(models) << statistics_table(models);
  for (std::size_t i = 0; i < models.size(); ++i) html << model_section(store, models[i], i);
  html << "</body></html>\n";

  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file_atomically(path, html.str(), "the report");
  return path;
}

}  // namespace tlr
