#include "core/report/model_rows.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "tlr/error.h"

namespace tlr::report {
namespace {

std::string printf_string(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

bool has_value(const stats::Interval& interval) {
  return interval.n > 0 && std::isfinite(interval.mean);
}

}  // namespace

void check_format(const std::string& format) {
  if (format != "table" && format != "markdown" && format != "csv" && format != "json") {
    throw Error("unknown report format '" + format + "'; formats: table, markdown, csv, json");
  }
}

std::vector<ModelRow> model_rows(const std::vector<RunSummary>& rows,
                                 const std::vector<stats::ModelStatistics>& stats) {
  std::vector<ModelRow> out;
  std::map<std::string, std::size_t> index;
  for (const auto& r : rows) {
    auto [it, inserted] = index.emplace(r.model, out.size());
    if (inserted) {
      ModelRow row;
      row.model = r.model;
      row.strategy = r.strategy;
      row.backbone = r.backbone;
      out.push_back(std::move(row));
    }
    out[it->second].runs.push_back(&r);
  }
  for (auto& row : out) {
    for (const auto& s : stats) {
      if (s.model == row.model) row.statistics = &s;
    }
    double epochs = 0, seconds = 0;
    int counted = 0;
    bool any_seconds = false;
    for (const RunSummary* r : row.runs) {
      if (r->status == RunStatus::kCompleted) {
        ++row.completed;
        epochs += double(r->epochs_run);
        ++counted;
      }
      if (r->wall_seconds) seconds += *r->wall_seconds, any_seconds = true;
      if (!row.trainable_params && r->trainable_params) row.trainable_params = r->trainable_params;
    }
    if (counted == 0) {  // no completed run: how far the others got
      for (const RunSummary* r : row.runs) epochs += double(r->epochs_run), ++counted;
    }
    if (counted > 0) row.epochs = epochs / counted;
    if (any_seconds) row.wall_seconds = seconds;
  }
  return out;
}

std::string run_label(const RunSummary& run) {
  return run.model + "#" + std::to_string(run.replicate + 1);
}

std::string runs_cell(const ModelRow& row) {
  const std::string all = std::to_string(row.runs.size());
  return row.completed == int(row.runs.size()) ? all : std::to_string(row.completed) + "/" + all;
}

std::string accuracy_cell(const stats::Interval& accuracy) {
  if (!has_value(accuracy)) return "-";
  std::string out = printf_string("%.1f%%", accuracy.mean * 100);
  if (std::isfinite(accuracy.low) && std::isfinite(accuracy.high)) {
    out +=
        printf_string(" [%.1f", accuracy.low * 100) + printf_string(", %.1f]", accuracy.high * 100);
  }
  return out;
}

std::string f1_cell(const stats::Interval& f1) {
  return has_value(f1) ? printf_string("%.3f", f1.mean) : "-";
}

std::string difference_cell(const stats::Comparison& comparison) {
  if (!std::isfinite(comparison.difference)) return "-";
  std::string out = printf_string("%+.1f", comparison.difference * 100);
  if (std::isfinite(comparison.low) && std::isfinite(comparison.high)) {
    out += printf_string(" [%+.1f", comparison.low * 100) +
           printf_string(", %+.1f]", comparison.high * 100);
  }
  return out;
}

std::string p_cell(double p) {
  if (!std::isfinite(p)) return "-";
  if (p < 0.001) return "<0.001";
  return printf_string("%#.3g", p);
}

std::string epochs_cell(const std::optional<double>& epochs) {
  if (!epochs) return "-";
  return std::abs(*epochs - std::round(*epochs)) < 1e-9 ? printf_string("%.0f", *epochs)
                                                        : printf_string("%.1f", *epochs);
}

std::string seconds_cell(const std::optional<double>& seconds) {
  return seconds ? printf_string("%.0fs", *seconds) : "-";
}

std::string thousands(std::int64_t value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out = value < 0 ? "-" : "";
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

int significant_mcnemar(const stats::Comparison& comparison) {
  int k = 0;
  for (const auto& m : comparison.mcnemar) k += m.p < kAlpha ? 1 : 0;
  return k;
}

std::string compute_note(const std::vector<ModelRow>& rows) {
  // Per model, the distinct "precision on device" of its runs, in the order first seen.
  std::vector<std::pair<std::string, std::vector<std::string>>> per_model;
  std::set<std::string> everywhere;
  for (const auto& row : rows) {
    std::vector<std::string> kinds;
    for (const RunSummary* r : row.runs) {
      const std::string kind = r->precision + " on " + r->device;
      if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) kinds.push_back(kind);
      everywhere.insert(kind);
    }
    per_model.emplace_back(row.model, kinds);
  }
  if (everywhere.empty()) return "";
  if (everywhere.size() == 1) {
    return "computed in " + *everywhere.begin() + " (every run; runs.compute_precision).";
  }
  std::vector<std::string> parts;
  for (const auto& [model, kinds] : per_model) {
    if (!kinds.empty()) parts.push_back(model + " " + join(kinds, " and "));
  }
  return "computed in: " + join(parts, "; ") +
         " (runs.compute_precision): a difference between models may be partly the "
         "precision's.";
}

std::vector<std::string> reading_notes(const std::vector<ModelRow>& rows) {
  std::vector<std::string> notes;
  std::vector<std::string> t_models, wilson_models;
  std::int64_t test_images = 0;
  for (const auto& row : rows) {
    if (!row.statistics || !has_value(row.statistics->accuracy)) continue;
    const auto& accuracy = row.statistics->accuracy;
    if (accuracy.method == "wilson") {
      wilson_models.push_back(row.model);
      test_images = accuracy.n;
    } else {
      t_models.push_back(row.model);
    }
  }
  const std::string images = thousands(test_images) + " test images";
  if (!t_models.empty() && !wilson_models.empty()) {
    notes.push_back(
        "test acc: the mean over a model's replicates with its 95% t interval; with "
        "one run (" +
        join(wilson_models, ", ") + ") the 95% Wilson interval over its " + images + ".");
  } else if (!t_models.empty()) {
    notes.emplace_back(
        "test acc: the mean over each model's replicates with its 95% t interval; f1 "
        "the mean.");
  } else if (!wilson_models.empty()) {
    notes.push_back("test acc: one run per model, with the 95% Wilson interval over its " + images +
                    ".");
  }

  std::vector<std::string> baselines, paired_t, exact;
  std::map<std::string, int> compared_with;
  for (const auto& row : rows) {
    if (!row.statistics || !row.statistics->comparison) continue;
    const auto& c = *row.statistics->comparison;
    if (compared_with[c.baseline]++ == 0) baselines.push_back(c.baseline);
    (c.test == "paired_t" ? paired_t : exact).push_back(row.model);
  }
  if (!baselines.empty()) {
    const bool one = baselines.size() == 1;
    notes.push_back("diff: test accuracy minus " +
                    (one ? baselines[0] + "'s" : "its baseline's (" + join(baselines, ", ") + ")") +
                    " in percentage points, replicate r paired with the baseline's replicate r, "
                    "with its 95% interval.");
    std::string test;
    if (exact.empty()) {
      test = "paired t-test over the replicate differences";
    } else if (paired_t.empty()) {
      test = "exact McNemar test on the test images (one replicate pair)";
    } else {
      test =
          "paired t-test over the replicate differences (exact McNemar on the test images "
          "with one pair: " +
          join(exact, ", ") + ")";
    }
    std::string holm;
    if (one) {
      const int m = compared_with[baselines[0]];
      holm = "the " + std::to_string(m) + (m == 1 ? " model" : " models") + " compared with " +
             baselines[0];
    } else {
      std::vector<std::string> counts;
      counts.reserve(baselines.size());
      for (const auto& b : baselines) counts.push_back(b + ": " + std::to_string(compared_with[b]));
      holm = "the models compared with the same baseline (" + join(counts, ", ") + ")";
    }
    notes.push_back("p (Holm): " + test + ", adjusted by Holm over " + holm +
                    "; verdict better or worse when it is below 0.05, else no detectable "
                    "difference.");
  }
  std::vector<std::string> mcnemar;
  int pairs = -1;
  bool same_pairs = true;
  for (const auto& row : rows) {
    if (!row.statistics || !row.statistics->comparison) continue;
    const auto& c = *row.statistics->comparison;
    if (c.test != "paired_t") continue;
    const int n = int(c.mcnemar.size());
    same_pairs = same_pairs && (pairs < 0 || pairs == n);
    pairs = n;
    mcnemar.push_back(row.model + " " + std::to_string(significant_mcnemar(c)) + "/" +
                      std::to_string(n));
  }
  if (!mcnemar.empty()) {
    notes.push_back(std::string("McNemar p<0.05 in k of ") +
                    (same_pairs ? std::to_string(pairs) : "R") +
                    " replicate pairs (per pair, uncorrected): " + join(mcnemar, ", ") + ".");
  }
  bool any_baseline = false;
  for (const auto& row : rows) {
    if (!row.statistics) continue;
    any_baseline = any_baseline || row.statistics->is_baseline;
    if (!row.statistics->note.empty()) {
      notes.push_back(row.model + ": not compared: " + row.statistics->note + ".");
    }
  }
  if (baselines.empty() && !any_baseline && rows.size() > 1) {
    notes.emplace_back(
        "no model is compared: no baseline (the experiment's compare_to; by default "
        "its first scratch model).");
  }
  const std::string computed = compute_note(rows);
  if (!computed.empty()) notes.push_back(computed);
  return notes;
}

std::vector<std::string> unfinished_runs(const std::vector<ModelRow>& rows) {
  std::vector<std::string> out;
  for (const auto& row : rows) {
    for (const RunSummary* r : row.runs) {
      if (r->status == RunStatus::kCompleted && r->error.empty()) continue;
      std::string line = run_label(*r) + ": " + to_string(r->status);
      if (!r->error.empty()) line += ": " + r->error;
      out.push_back(line);
    }
  }
  return out;
}

}  // namespace tlr::report
