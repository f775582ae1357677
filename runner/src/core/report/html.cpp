// report.html: one self-contained page (inline CSS and SVG, no script, no network) with the
// comparison table, each model's training curves (accuracy and loss, train vs validation, like
// the side-by-side plots of cats_vs_dogs_vgg16.yaml's original, docs/experiments.md) and its test
// confusion matrix.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/report/report.h"
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
  std::string label, color;
  std::vector<double> values;  // NaN for a missing point
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
    svg << "<polyline fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"2\" points=\""
        << points << "\"/>";
    // Markers keep a one-epoch run (a single point) visible.
    if (s.values.size() <= 40) {
      for (std::size_t i = 0; i < s.values.size(); ++i) {
        if (!std::isfinite(s.values[i])) continue;
        svg << "<circle cx=\"" << num(x(i), "%.1f") << "\" cy=\"" << num(y(s.values[i]), "%.1f")
            << "\" r=\"2.5\" fill=\"" << s.color << "\"/>";
      }
    }
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

}  // namespace

std::string write_html_report(const Store& store, const std::string& experiment,
                              const std::string& path, const std::vector<std::int64_t>& run_ids) {
  const bool latest = run_ids.empty();
  const auto rows = latest ? store.summaries(experiment) : store.summaries_of(run_ids);
  std::ostringstream html;
  html << "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>tlr: "
       << escape(experiment) << "</title><style>"
       << "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}"
       << "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;"
       << "padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,"
       << "th:first-child{text-align:left}.model{margin:24px 0;border-top:1px solid #ddd}"
       << ".charts{display:flex;flex-wrap:wrap;gap:16px}.chart{width:360px;height:220px}"
       << ".frame{fill:none;stroke:#bbb}.tick{font-size:10px;fill:#555}.title{font-size:12px;"
       << "font-weight:600}.failed{color:#b71c1c}</style></head><body>";
  html << "<h1>" << escape(experiment) << "</h1><p>" << rows.size()
       << (latest ? " models, latest run of each." : " runs.")
       << " Test metrics at each model's best-validation checkpoint.</p>";
  html << "<table id=\"comparison\"><tr><th>model</th><th>strategy</th><th>backbone</th>"
       << "<th>trainable params</th><th>best val acc</th><th>test acc</th><th>precision</th>"
       << "<th>recall</th><th>F1</th><th>epochs</th><th>time (s)</th><th>img/s</th>"
       << "<th>status</th></tr>";
  auto pct = [](const std::optional<double>& v) {
    return v ? num(*v * 100, "%.1f%%") : std::string("-");
  };
  auto dec = [](const std::optional<double>& v, const char* f) {
    return v ? num(*v, f) : std::string("-");
  };
  for (const auto& r : rows) {
    html << "<tr><td><a href=\"#run" << r.run_id << "\">" << escape(r.model) << "</a></td><td>"
         << escape(r.strategy) << "</td><td>" << escape(r.backbone) << "</td><td>"
         << (r.trainable_params ? std::to_string(*r.trainable_params) : "-") << "</td><td>"
         << pct(r.best_val_acc) << "</td><td>" << pct(r.test_accuracy) << "</td><td>"
         << dec(r.test_precision, "%.3f") << "</td><td>" << dec(r.test_recall, "%.3f")
         << "</td><td>" << dec(r.test_f1, "%.3f") << "</td><td>" << r.epochs_run << "</td><td>"
         << dec(r.wall_seconds, "%.0f") << "</td><td>" << dec(r.mean_images_per_second, "%.0f")
         << "</td><td" << (r.status == RunStatus::kCompleted ? "" : " class=\"failed\"") << ">"
         << to_string(r.status) << "</td></tr>";
  }
  html << "</table>";
  for (const auto& r : rows) {
    html << "<section class=\"model\" id=\"run" << r.run_id << "\"><h2>" << escape(r.model)
         << "</h2><p>strategy " << escape(r.strategy) << ", backbone " << escape(r.backbone)
         << ", run " << r.run_id << ", seed " << r.seed << ", config "
         << escape(r.config_hash.substr(0, 12)) << "</p>";
    if (!r.error.empty()) html << "<p class=\"failed\">" << escape(r.error) << "</p>";
    Series train_acc{"train", "#1565c0", {}}, val_acc{"validation", "#ef6c00", {}};
    Series train_loss{"train", "#1565c0", {}}, val_loss{"validation", "#ef6c00", {}};
    for (const auto& e : store.epochs(r.run_id)) {
      train_acc.values.push_back(value_or_nan(e.train_acc));
      val_acc.values.push_back(value_or_nan(e.val_acc));
      train_loss.values.push_back(value_or_nan(e.train_loss));
      val_loss.values.push_back(value_or_nan(e.val_loss));
    }
    html << "<div class=\"charts\">" << chart("accuracy", {train_acc, val_acc})
         << chart("loss", {train_loss, val_loss});
    if (auto m = store.confusion(r.run_id, "test")) {
      html << "<div><p class=\"title\">test confusion matrix</p>" << confusion_table(*m)
           << "</div>";
    }
    html << "</div></section>";
  }
  html << "</body></html>\n";

  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << html.str();
    if (!out) throw Error(path + ": error: cannot write the report");
  }
  std::filesystem::rename(tmp, path);
  return path;
}

}  // namespace tlr
