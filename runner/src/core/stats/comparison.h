// The statistics of the comparison table: per model, the mean, standard deviation and 95%
// confidence interval of test accuracy and F1 over its replicates; per model against its
// baseline, the mean paired difference in test accuracy with its 95% interval, a test, the
// p-value adjusted for the number of models compared with the same baseline (Holm) and a verdict.
// Pure functions of the per-sample test predictions: no store, no torch (docs/statistics.md has
// the definitions, and tests/stats recomputes every number with scipy).
//
// Definitions (alpha = 0.05):
// - accuracy, R >= 2 replicates: mean and sample sd (n - 1) of the replicates' accuracies,
//   interval mean -/+ t(0.975, R - 1) * sd / sqrt(R) (method "t"). R == 1: the Wilson score
//   interval of correct/n over the test images with z = 1.959963984540054 (method "wilson"; sd
//   is NaN). F1 the same with "t" for R >= 2; for R == 1 sd, low and high are NaN (method "").
//   R == 0: mean, sd, low and high NaN (method "").
// - pairs: replicate r of a model with replicate r of its baseline, for the replicate indices
//   both have (the test images are the same in every replicate and model of an experiment).
//   Per pair, the exact McNemar test on the test images: b = images the model classifies right
//   and the baseline wrong, c = the reverse, p = min(1, 2 * P(X <= min(b, c))), X ~ Bin(b + c, 1/2)
//   (p = 1 when b + c = 0).
// - the combined test, P >= 2 pairs: paired t-test on the per-pair accuracy differences
//   d_r = acc(model, r) - acc(baseline, r), df = P - 1, two-sided; interval mean(d) -/+ t *
//   sd/sqrt(P) (test "paired_t"). When every d_r is equal (sd = 0): p = 1 and t = 0 if they are 0,
//   else p = 0 and t = +/-infinity, interval [mean, mean]. P == 1: the pair's exact McNemar p, and
//   the interval of a paired difference of proportions, d -/+ z * sqrt(b + c - (b - c)^2 / n) / n
//   (test "mcnemar_exact").
// - Holm: the p-values of the models compared with one baseline, sorted ascending, p_(i) times
//   (m - i + 1) (i from 1), made non-decreasing by a running maximum, capped at 1.
// - verdict: "better" or "worse" (by the sign of the mean difference) when the Holm-adjusted p is
//   below alpha, else "no detectable difference"; the baseline itself gets "baseline".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tlr::stats {

// One completed run of a model: its predictions on the test images, in sample order.
struct ReplicateResult {
  std::int64_t run_id = 0;
  int replicate = 0;                    // 0-based replicate index (runs.replicate)
  std::vector<std::int64_t> labels;     // true label per test sample
  std::vector<std::int64_t> predicted;  // predicted label per test sample
  double f1 = 0;                        // the run's headline test F1 (metrics 'test'/'f1')
};

struct ModelResults {
  std::string model;  // runs.model
  std::string
      baseline;  // the model it is compared with; "" when not compared (the baseline itself)
  bool is_baseline = false;
  // Models are compared only when this equals their baseline's: a key of the test samples' ids and
  // true labels in order (two models of one experiment on other data are not paired).
  std::string test_set;
  std::vector<ReplicateResult> replicates;  // ascending replicate index; may be empty (all failed)
};

struct Interval {
  int n = 0;  // values (replicates) or, for "wilson", test images
  double mean = 0;
  double sd = 0;       // NaN for one value
  double low = 0;      // NaN when there is no interval
  double high = 0;     // NaN when there is no interval
  std::string method;  // "t" | "wilson" | ""
};

struct McNemarTest {
  int replicate = 0;
  std::int64_t run_id = 0, baseline_run_id = 0;
  std::int64_t n = 0;              // test images
  std::int64_t model_only = 0;     // b: the model right, the baseline wrong
  std::int64_t baseline_only = 0;  // c: the baseline right, the model wrong
  double p = 1;
};

struct Comparison {
  std::string baseline;
  int pairs = 0;
  double difference = 0;  // mean paired accuracy difference, model - baseline (a fraction)
  double low = 0, high = 0;
  std::string test;      // "paired_t" | "mcnemar_exact"
  double statistic = 0;  // t; for mcnemar_exact the smaller discordant count min(b, c)
  double df = 0;         // P - 1 for paired_t; 0 for mcnemar_exact
  double p = 1;
  double p_holm = 1;
  std::string verdict;               // "better" | "worse" | "no detectable difference"
  std::vector<McNemarTest> mcnemar;  // one per pair
};

struct ModelStatistics {
  std::string model;
  int replicates = 0;  // runs with predictions
  Interval accuracy, f1;
  bool is_baseline = false;
  std::optional<Comparison> comparison;  // absent for the baseline and for models not compared
  // Why a model with a baseline is not compared, else "": "no completed run", "baseline '<name>'
  // has no completed run", "test set differs from baseline '<name>'", "no replicate in common with
  // baseline '<name>'".
  std::string note;
};

// Exact building blocks, exposed for the tests.
double regularized_incomplete_beta(double a, double b, double x);
// Two-sided p of Student's t statistic with df degrees of freedom.
double student_t_two_sided_p(double t, double df);
// The q-quantile of Student's t with df degrees of freedom (0 < q < 1; -/+infinity at 0 and 1,
// NaN outside), the root of the CDF to full double precision.
double student_t_quantile(double q, double df);
// min(1, 2 * P(X <= min(b, c))), X ~ Binomial(b + c, 1/2); 1 when b + c == 0. Exact (integer
// sums) up to b + c = 62, summed in log space beyond.
double mcnemar_exact_p(std::int64_t b, std::int64_t c);
Interval wilson_interval(std::int64_t correct, std::int64_t n);  // NaN mean/low/high for n = 0
Interval t_interval(const std::vector<double>& values);          // NaN sd/low/high for one value
std::vector<double> holm_adjust(const std::vector<double>& p);

// The statistics of every model, in the order given. A model flagged is_baseline is not compared;
// another with a `baseline` is compared with the first model of that name. Throws tlr::Error,
// naming the model and run, when a replicate's labels and predictions differ in length or when
// paired replicates have different numbers of test samples.
std::vector<ModelStatistics> compare_models(const std::vector<ModelResults>& models,
                                            double alpha = 0.05);

}  // namespace tlr::stats
