#include "core/stats/comparison.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "tlr/error.h"

namespace tlr::stats {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEpsilon = std::numeric_limits<double>::epsilon();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kZ975 = 1.959963984540054;  // scipy.stats.norm.ppf(0.975)
const double kHalfLog2Pi = 0.5 * std::log(2 * M_PI);

// log Gamma(x) - ((x - 1/2) log x - x + log(2 pi) / 2), the Stirling series, for x >= 10 (the
// first omitted term is below 1e-17 there).
double stirling_correction(double x) {
  const double r = 1 / x, r2 = r * r;
  return r *
         (1.0 / 12 +
          r2 * (-1.0 / 360 +
                r2 * (1.0 / 1260 +
                      r2 * (-1.0 / 1680 +
                            r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 +
                                                     r2 * (1.0 / 156 - r2 * 3617.0 / 122400)))))));
}

// log B(a, b). lgamma(a) + lgamma(b) - lgamma(a + b) loses the low digits of lgamma's large values
// (about 1e-12 at a = 500, the t distribution with df = 1000), so large arguments go through the
// Stirling form, whose terms are products of accurate logarithms.
double log_beta(double a, double b) {
  if (a > b) std::swap(a, b);
  if (b < 10) return std::lgamma(a) + std::lgamma(b) - std::lgamma(a + b);
  // lgamma(b) - lgamma(a + b), b >= 10.
  const double tail = -(b - 0.5) * std::log1p(a / b) - a * std::log(a + b) + a +
                      stirling_correction(b) - stirling_correction(a + b);
  if (a < 10) return std::lgamma(a) + tail;
  return kHalfLog2Pi - 0.5 * std::log(a) - a * std::log1p(b / a) - (b - 0.5) * std::log1p(a / b) +
         stirling_correction(a) + stirling_correction(b) - stirling_correction(a + b);
}

// The continued fraction of I_x(a, b) * a * B(a, b) / (x^a y^b) by the modified Lentz method; it
// converges fast for x < (a + 1) / (a + b + 2).
double beta_continued_fraction(double a, double b, double x, double y) {
  constexpr double kTiny = 1e-300;
  const auto guard = [](double v) { return std::abs(v) < kTiny ? kTiny : v; };
  double c = 1;
  // 1 - (a + b) x / (a + 1), written without the cancellation it has near the mean x = a / (a + b).
  double d = 1 / guard((a * y + (1 - b * x)) / (a + 1));
  double f = d;
  for (int m = 1; m <= 1000000; ++m) {
    // The even and the odd term of step m.
    const double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
    d = 1 / guard(1 + even * d);
    c = guard(1 + even / c);
    f *= c * d;
    const double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
    d = 1 / guard(1 + odd * d);
    c = guard(1 + odd / c);
    const double step = c * d;
    f *= step;
    if (std::abs(step - 1) <= kEpsilon) break;
  }
  return f;
}

// I_x(a, b) with y = 1 - x given separately: a caller that knows y to full precision (the t
// distribution, where x is near 1 for small t) passes it, rather than losing it to 1 - x.
double incomplete_beta(double a, double b, double x, double y) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(x) || a <= 0 || b <= 0 || x < 0 || x > 1) {
    return kNaN;
  }
  if (x == 0) return 0;
  if (y == 0) return 1;
  const bool swap = x > (a + 1) / (a + b + 2);
  if (swap) {
    std::swap(a, b);
    std::swap(x, y);
  }
  // log of the value near 1 from the small one: a * log(x) multiplies its error by a.
  const double log_x = x > 0.5 ? std::log1p(-y) : std::log(x);
  const double log_y = y > 0.5 ? std::log1p(-x) : std::log(y);
  const double front = std::exp(a * log_x + b * log_y - log_beta(a, b));
  const double value = front * beta_continued_fraction(a, b, x, y) / a;
  return swap ? 1 - value : value;
}

// P(T > t) for t >= 0. x and y are written so that t * t overflowing to infinity still gives 0.
double student_t_upper_tail(double t, double df) {
  const double t2 = t * t;
  const double x = 1 / (1 + t2 / df), y = 1 / (1 + df / t2);
  return 0.5 * incomplete_beta(df / 2, 0.5, x, y);
}

double student_t_density(double t, double df) {
  return std::exp(-0.5 * std::log(df) - log_beta(df / 2, 0.5) -
                  (df + 1) / 2 * std::log1p(t * t / df));
}

// The t > 0 with P(T > t) = tail, 0 < tail < 1/2: Newton steps on the tail, kept inside a bracket
// of the root (the tail falls monotonically), with bisection whenever a step would leave it. The
// steps end when they no longer move t, so the result is as exact as the tail it inverts.
double student_t_upper_quantile(double tail, double df) {
  double lo = 0, hi = 1;
  while (student_t_upper_tail(hi, df) > tail) {
    lo = hi;
    hi *= 2;
    if (std::isinf(hi)) return hi;
  }
  double t = (lo + hi) / 2;
  for (int i = 0; i < 1000; ++i) {
    const double excess = student_t_upper_tail(t, df) - tail;
    if (excess == 0) return t;
    if (excess > 0) {
      lo = t;
    } else {
      hi = t;
    }
    double next = t + excess / student_t_density(t, df);
    if (!(next > lo && next < hi)) next = lo + (hi - lo) / 2;
    if (std::abs(next - t) <= 2 * kEpsilon * t || next == lo || next == hi) return next;
    t = next;
  }
  return t;
}

// log(C(n, k) / 2^n) for 0 < k < n. Through lgamma(n + 1) directly it would carry lgamma's
// absolute error (1e-9 at n = 1e6), so it is written as Stirling's form with its correction
// (exact lgamma below 10), where the large terms are products of log1p of exact ratios.
double log_half_binomial_pmf(std::int64_t n, std::int64_t k) {
  // log m! - ((m + 1/2) log m - m + log(2 pi) / 2); equal to stirling_correction(m), as
  // log m! = log Gamma(m) + log m.
  const auto correction = [](double m) {
    if (m >= 10) return stirling_correction(m);
    return std::lgamma(m + 1) - ((m + 0.5) * std::log(m) - m + kHalfLog2Pi);
  };
  const double nd = static_cast<double>(n), kd = static_cast<double>(k), rest = nd - kd;
  const double u = (nd - 2 * kd) / nd;  // 2k/n = 1 - u, 2(n - k)/n = 1 + u
  return -kd * std::log1p(-u) - rest * std::log1p(u) + 0.5 * std::log(nd / (2 * M_PI * kd * rest)) +
         correction(nd) - correction(kd) - correction(rest);
}

// P(X <= k), X ~ Bin(n, 1/2), k < n / 2.
double half_binomial_lower_tail(std::int64_t n, std::int64_t k) {
  if (n <= 62) {
    // Exact: the binomial coefficients and their sum fit in 64 bits, and 2^-n scales exactly.
    std::uint64_t coefficient = 1, sum = 1;
    for (std::int64_t i = 1; i <= k; ++i) {
      coefficient = coefficient * static_cast<std::uint64_t>(n - i + 1) / i;
      sum += coefficient;
    }
    return std::ldexp(static_cast<double>(sum), -static_cast<int>(n));
  }
  if (k == 0) return std::exp2(-static_cast<double>(n));
  // The terms below k from the largest one by the ratio pmf(i - 1) / pmf(i) = i / (n - i + 1);
  // they fall at least geometrically, so the sum stops once they no longer change it. Neumaier
  // summation keeps the many small terms of a large n.
  double term = 1, sum = 1, compensation = 0;
  for (std::int64_t i = k; i > 0 && term > kEpsilon * sum * 1e-3; --i) {
    term *= static_cast<double>(i) / static_cast<double>(n - i + 1);
    const double next = sum + term;
    compensation += sum >= term ? (sum - next) + term : (term - next) + sum;
    sum = next;
  }
  return std::exp(log_half_binomial_pmf(n, k) + std::log(sum + compensation));
}

double mean_of(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

double sd_of(const std::vector<double>& values, double mean) {
  double squares = 0;
  for (const double v : values) squares += (v - mean) * (v - mean);
  return std::sqrt(squares / static_cast<double>(values.size() - 1));
}

std::int64_t correct_count(const ModelResults& model, const ReplicateResult& run) {
  if (run.labels.size() != run.predicted.size()) {
    throw Error("model '" + model.model + "' run " + std::to_string(run.run_id) + ": " +
                std::to_string(run.labels.size()) + " labels but " +
                std::to_string(run.predicted.size()) + " predictions");
  }
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < run.labels.size(); ++i) correct += run.labels[i] == run.predicted[i];
  return correct;
}

double accuracy_of(const ModelResults& model, const ReplicateResult& run) {
  return static_cast<double>(correct_count(model, run)) / static_cast<double>(run.labels.size());
}

McNemarTest mcnemar_of(const ModelResults& model, const ReplicateResult& run,
                       const ReplicateResult& base) {
  if (run.labels.size() != base.labels.size()) {
    throw Error("model '" + model.model + "' run " + std::to_string(run.run_id) + ": " +
                std::to_string(run.labels.size()) + " test samples but baseline '" +
                model.baseline + "' run " + std::to_string(base.run_id) + " has " +
                std::to_string(base.labels.size()));
  }
  McNemarTest test;
  test.replicate = run.replicate;
  test.run_id = run.run_id;
  test.baseline_run_id = base.run_id;
  test.n = static_cast<std::int64_t>(run.labels.size());
  for (std::size_t i = 0; i < run.labels.size(); ++i) {
    const bool model_right = run.predicted[i] == run.labels[i];
    const bool base_right = base.predicted[i] == base.labels[i];
    test.model_only += model_right && !base_right;
    test.baseline_only += base_right && !model_right;
  }
  test.p = mcnemar_exact_p(test.model_only, test.baseline_only);
  return test;
}

// The comparison of `model` with `base` over their common replicate indices; p_holm and verdict
// are set once the whole family is known.
Comparison compare_with(const ModelResults& model, const ModelResults& base) {
  Comparison out;
  out.baseline = base.model;
  std::vector<double> differences;
  for (const ReplicateResult& run : model.replicates) {
    const auto same =
        std::find_if(base.replicates.begin(), base.replicates.end(),
                     [&](const ReplicateResult& b) { return b.replicate == run.replicate; });
    if (same == base.replicates.end()) continue;
    out.mcnemar.push_back(mcnemar_of(model, run, *same));
    differences.push_back(accuracy_of(model, run) - accuracy_of(base, *same));
  }
  out.pairs = static_cast<int>(differences.size());
  if (out.pairs == 1) {
    const McNemarTest& only = out.mcnemar.front();
    const double b = static_cast<double>(only.model_only),
                 c = static_cast<double>(only.baseline_only);
    const double n = static_cast<double>(only.n);
    const double half = kZ975 * std::sqrt(b + c - (b - c) * (b - c) / n) / n;
    out.test = "mcnemar_exact";
    out.difference = differences.front();
    out.low = out.difference - half;
    out.high = out.difference + half;
    out.statistic = std::min(b, c);
    out.df = 0;
    out.p = only.p;
  } else if (out.pairs >= 2) {
    out.test = "paired_t";
    out.df = out.pairs - 1;
    out.difference = mean_of(differences);
    // Equal differences are checked as such: their computed sd may be a rounding residue, not 0.
    if (std::all_of(differences.begin(), differences.end(),
                    [&](double d) { return d == differences.front(); })) {
      out.difference = differences.front();
      out.low = out.high = out.difference;
      out.statistic = out.difference == 0 ? 0 : std::copysign(kInf, out.difference);
      out.p = out.difference == 0 ? 1 : 0;
    } else {
      const double se = sd_of(differences, out.difference) / std::sqrt(out.pairs);
      const double half = student_t_quantile(0.975, out.df) * se;
      out.low = out.difference - half;
      out.high = out.difference + half;
      out.statistic = out.difference / se;
      out.p = student_t_two_sided_p(out.statistic, out.df);
    }
  }
  return out;
}

}  // namespace

double regularized_incomplete_beta(double a, double b, double x) {
  return incomplete_beta(a, b, x, 1 - x);
}

double student_t_two_sided_p(double t, double df) {
  if (std::isnan(t) || !(df > 0)) return kNaN;
  return 2 * student_t_upper_tail(std::abs(t), df);
}

double student_t_quantile(double q, double df) {
  if (!(q >= 0 && q <= 1) || !(df > 0)) return kNaN;
  if (q == 0) return -kInf;
  if (q == 1) return kInf;
  if (q == 0.5) return 0;
  // 1 - q is exact for q >= 1/2, so the two halves are mirror images.
  return q > 0.5 ? student_t_upper_quantile(1 - q, df) : -student_t_upper_quantile(q, df);
}

double mcnemar_exact_p(std::int64_t b, std::int64_t c) {
  const std::int64_t n = b + c, k = std::min(b, c);
  // P(X <= n/2) >= 1/2, so b == c (including b + c == 0) gives 1.
  if (2 * k >= n) return 1;
  return std::min(1.0, 2 * half_binomial_lower_tail(n, k));
}

Interval wilson_interval(std::int64_t correct, std::int64_t n) {
  Interval out;
  out.n = static_cast<int>(n);
  out.sd = kNaN;
  if (n <= 0) {
    out.mean = out.low = out.high = kNaN;
    return out;
  }
  const double nd = static_cast<double>(n), p = static_cast<double>(correct) / nd;
  const double z2 = kZ975 * kZ975;
  const double center = (p + z2 / (2 * nd)) / (1 + z2 / nd);
  const double half = kZ975 / (1 + z2 / nd) * std::sqrt(p * (1 - p) / nd + z2 / (4 * nd * nd));
  out.mean = p;
  out.low = center - half;
  out.high = center + half;
  out.method = "wilson";
  return out;
}

Interval t_interval(const std::vector<double>& values) {
  Interval out;
  out.n = static_cast<int>(values.size());
  out.mean = values.empty() ? kNaN : mean_of(values);
  out.sd = out.low = out.high = kNaN;
  if (values.size() < 2) return out;
  out.sd = sd_of(values, out.mean);
  const double half = student_t_quantile(0.975, out.n - 1) * out.sd / std::sqrt(out.n);
  out.low = out.mean - half;
  out.high = out.mean + half;
  out.method = "t";
  return out;
}

std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t i, std::size_t j) { return p[i] < p[j]; });
  std::vector<double> adjusted(p.size());
  double running = 0;
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const double scaled = static_cast<double>(p.size() - rank) * p[order[rank]];
    running = std::max(running, std::min(1.0, scaled));
    adjusted[order[rank]] = running;
  }
  return adjusted;
}

std::vector<ModelStatistics> compare_models(const std::vector<ModelResults>& models, double alpha) {
  std::vector<ModelStatistics> out;
  for (const ModelResults& model : models) {
    ModelStatistics stats;
    stats.model = model.model;
    stats.replicates = static_cast<int>(model.replicates.size());
    stats.is_baseline = model.is_baseline;
    std::vector<double> accuracies, f1s;
    for (const ReplicateResult& run : model.replicates) {
      accuracies.push_back(accuracy_of(model, run));
      f1s.push_back(run.f1);
    }
    if (model.replicates.size() == 1) {
      const ReplicateResult& only = model.replicates.front();
      stats.accuracy = wilson_interval(correct_count(model, only),
                                       static_cast<std::int64_t>(only.labels.size()));
    } else {
      stats.accuracy = t_interval(accuracies);
    }
    stats.f1 = t_interval(f1s);

    if (!model.is_baseline && !model.baseline.empty()) {
      const auto base = std::find_if(models.begin(), models.end(), [&](const ModelResults& m) {
        return m.model == model.baseline;
      });
      if (model.replicates.empty()) {
        stats.note = "no completed run";
      } else if (base == models.end() || base->replicates.empty()) {
        stats.note = "baseline '" + model.baseline + "' has no completed run";
      } else if (base->test_set != model.test_set) {
        stats.note = "test set differs from baseline '" + model.baseline + "'";
      } else {
        Comparison comparison = compare_with(model, *base);
        if (comparison.pairs == 0) {
          stats.note = "no replicate in common with baseline '" + model.baseline + "'";
        } else {
          stats.comparison = std::move(comparison);
        }
      }
    }
    out.push_back(std::move(stats));
  }

  // Holm within each family: the models compared with one baseline.
  std::map<std::string, std::vector<std::size_t>> families;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].comparison) families[out[i].comparison->baseline].push_back(i);
  }
  for (const auto& [baseline, members] : families) {
    std::vector<double> p;
    for (const std::size_t i : members) p.push_back(out[i].comparison->p);
    const std::vector<double> adjusted = holm_adjust(p);
    for (std::size_t j = 0; j < members.size(); ++j) {
      Comparison& comparison = *out[members[j]].comparison;
      comparison.p_holm = adjusted[j];
      const bool detected = comparison.p_holm < alpha && comparison.difference != 0;
      comparison.verdict = !detected                   ? "no detectable difference"
                           : comparison.difference > 0 ? "better"
                                                       : "worse";
    }
  }
  return out;
}

}  // namespace tlr::stats
