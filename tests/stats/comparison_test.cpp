// The statistics of the comparison table (core/stats/comparison.h) against textbook values, values
// of Debian's python3-scipy 1.10.1 and, where that scipy is not exact enough, of mpmath 1.2.1 (also
// Debian's). Each hard-coded number is the repr of the double the quoted expression printed.
//
// scipy 1.10.1's scipy.stats.t.ppf (cephes stdtri) is off by up to 5e-9 relative (t.ppf(0.9, 30)
// = 1.3104150225671307 where t.sf of it is 0.1000000003...), so quantiles, and the t intervals
// built from them, are pinned to the root of the exact CDF found by mpmath at 50 digits,
// `ppf(q, df)` below:
//   t_sf = lambda t, df: mpmath.betainc(df/2, 0.5, 0, df/(df+t*t), regularized=True)/2
//   ppf = lambda q, df: mpmath.findroot(lambda t: t_sf(t, df) - (1 - q), t.isf(1 - q, df))
#include "core/stats/comparison.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr::stats {
namespace {

constexpr double kRelative = 1e-12;

void expect_relative(double actual, double expected, double tolerance = kRelative) {
  EXPECT_NEAR(actual, expected, std::abs(expected) * tolerance) << "expected " << expected;
}

// A run on n test images, right on the images [begin, end) and wrong on the others.
ReplicateResult run_right_on(std::int64_t run_id, int replicate, int n, int begin, int end,
                             double f1 = 0.5) {
  ReplicateResult run;
  run.run_id = run_id;
  run.replicate = replicate;
  run.f1 = f1;
  for (int i = 0; i < n; ++i) {
    run.labels.push_back(i % 3);
    run.predicted.push_back(i >= begin && i < end ? i % 3 : (i + 1) % 3);
  }
  return run;
}

ModelResults model_of(const std::string& name, const std::string& baseline,
                      std::vector<ReplicateResult> replicates, const std::string& test_set = "t") {
  ModelResults model;
  model.model = name;
  model.baseline = baseline;
  model.test_set = test_set;
  model.replicates = std::move(replicates);
  return model;
}

ModelResults baseline_of(const std::string& name, std::vector<ReplicateResult> replicates) {
  ModelResults model = model_of(name, "", std::move(replicates));
  model.is_baseline = true;
  return model;
}

TEST(McNemarExact, TextbookCountsAreExact) {
  EXPECT_EQ(mcnemar_exact_p(0, 0), 1.0);  // all agree
  EXPECT_EQ(mcnemar_exact_p(7, 7), 1.0);
  EXPECT_EQ(mcnemar_exact_p(1000000, 1000000), 1.0);
  // 2 * (C(10,0) + C(10,1)) / 2^10
  EXPECT_EQ(mcnemar_exact_p(1, 9), 0.021484375);
  EXPECT_EQ(mcnemar_exact_p(9, 1), 0.021484375);
  EXPECT_EQ(mcnemar_exact_p(0, 5), 0.0625);
  EXPECT_EQ(mcnemar_exact_p(5, 0), 0.0625);
  EXPECT_EQ(mcnemar_exact_p(0, 1), 1.0);           // 2 * 1/2, capped
  EXPECT_EQ(mcnemar_exact_p(4, 8), 0.3876953125);  // 2 * 794 / 4096
}

TEST(McNemarExact, MatchesScipyBinomtest) {
  struct Case {
    std::int64_t b, c;
    double p;  // scipy.stats.binomtest(b, b + c, 0.5).pvalue
  };
  const Case cases[] = {
      {40, 60, 0.05688793364098088},          {100, 140, 0.01166409231767769},
      {30, 70, 7.85013964559367e-05},         {4900, 5100, 0.046585527704947234},
      {499000, 501000, 0.045608299865389515}, {10, 1000, 5.359574874624725e-281},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("b = " + std::to_string(c.b) + ", c = " + std::to_string(c.c));
    expect_relative(mcnemar_exact_p(c.b, c.c), c.p);
    expect_relative(mcnemar_exact_p(c.c, c.b), c.p);
  }
}

TEST(IncompleteBeta, MatchesScipyBetainc) {
  struct Case {
    double a, b, x;
    double value;  // scipy.special.betainc(a, b, x)
  };
  const Case cases[] = {
      {0.5, 0.5, 0.3, 0.3690101195655454},       {2.0, 3.0, 0.4, 0.5247999999999999},
      {10.0, 0.5, 0.9, 0.15164090963470997},     {50.0, 60.0, 0.45, 0.4642352914306064},
      {300.0, 400.0, 0.44, 0.7301134963814038},  {0.1, 10.0, 0.01, 0.8244896709066979},
      {500.0, 0.5, 0.99, 0.0015273578790525328}, {1.0, 1.0, 0.77, 0.77},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("a = " + std::to_string(c.a) + ", b = " + std::to_string(c.b) +
                 ", x = " + std::to_string(c.x));
    expect_relative(regularized_incomplete_beta(c.a, c.b, c.x), c.value);
    // The symmetry I_x(a, b) = 1 - I_{1-x}(b, a), across the switch of the continued fraction.
    expect_relative(regularized_incomplete_beta(c.b, c.a, 1 - c.x), 1 - c.value);
  }
  EXPECT_EQ(regularized_incomplete_beta(2, 3, 0), 0.0);
  EXPECT_EQ(regularized_incomplete_beta(2, 3, 1), 1.0);
  EXPECT_TRUE(std::isnan(regularized_incomplete_beta(2, 3, 1.5)));
  EXPECT_TRUE(std::isnan(regularized_incomplete_beta(0, 3, 0.5)));
}

TEST(StudentT, TwoSidedPMatchesScipy) {
  struct Case {
    double t, df;
    double p;  // 2 * scipy.stats.t.sf(t, df)
  };
  const Case cases[] = {
      {0.5, 1, 0.7048327646991336},      {2.0, 2, 0.1835034190722739},
      {2.5, 5, 0.054490099342376204},    {1.96, 30, 0.05934231289605053},
      {3.0, 100, 0.0034079153433294513}, {1.5, 1000, 0.13393003882208623},
      {10.0, 4, 0.0005620036227159911},  {30.0, 30, 6.251791630608899e-24},
      {0.01, 10, 0.9922179749909714},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("t = " + std::to_string(c.t) + ", df = " + std::to_string(c.df));
    expect_relative(student_t_two_sided_p(c.t, c.df), c.p);
    expect_relative(student_t_two_sided_p(-c.t, c.df), c.p);
  }
  EXPECT_EQ(student_t_two_sided_p(0, 7), 1.0);
  EXPECT_TRUE(std::isnan(student_t_two_sided_p(1, 0)));
}

TEST(StudentT, QuantileIsTheRootOfTheCdf) {
  struct Case {
    double q, df;
    double t;  // float(ppf(q, df)) with mpmath (see the top of this file)
  };
  const Case cases[] = {
      {0.9, 1, 3.077683537175254},       {0.975, 1, 12.706204736174694},
      {0.999, 1, 318.30883898555015},    {0.9999, 1, 3183.0987571185015},
      {0.9, 2, 1.885618083164127},       {0.975, 2, 4.302652729749462},
      {0.999, 2, 22.327124770119866},    {0.9999, 2, 70.70007107496818},
      {0.9, 3, 1.6377443536962104},      {0.975, 3, 3.1824463052837086},
      {0.999, 3, 10.214531852407383},    {0.9999, 3, 22.203742273205002},
      {0.9, 5, 1.4758840488244813},      {0.975, 5, 2.5705818356363146},
      {0.999, 5, 5.893429531356009},     {0.9999, 5, 9.677566300882814},
      {0.9, 10, 1.3721836411103359},     {0.975, 10, 2.2281388519862744},
      {0.999, 10, 4.143700494046589},    {0.9999, 10, 5.693820101457592},
      {0.9, 30, 1.3104150253913958},     {0.975, 30, 2.0422724563012378},
      {0.999, 30, 3.385184866829305},    {0.9999, 30, 4.23398595727206},
      {0.9, 100, 1.290074761346516},     {0.975, 100, 1.9839715185235518},
      {0.999, 100, 3.1737394937387826},  {0.9999, 100, 3.8615997909500908},
      {0.9, 1000, 1.2823987214609245},   {0.975, 1000, 1.962339080826408},
      {0.999, 1000, 3.0984021639129224}, {0.9999, 1000, 3.732851604575396},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("q = " + std::to_string(c.q) + ", df = " + std::to_string(c.df));
    expect_relative(student_t_quantile(c.q, c.df), c.t);
    EXPECT_EQ(student_t_quantile(1 - c.q, c.df), -student_t_quantile(c.q, c.df));
  }
  // df = 1 is Cauchy: tan(pi (q - 1/2)).
  expect_relative(student_t_quantile(0.9, 1), std::tan(M_PI * (0.9 - 0.5)), 1e-15);
  EXPECT_EQ(student_t_quantile(0.5, 12), 0.0);
  EXPECT_TRUE(std::isnan(student_t_quantile(1.5, 12)));
}

TEST(StudentT, QuantileInvertsTheTailOverTheWholeRange) {
  for (int df = 1; df <= 1000; df += df < 20 ? 1 : 37) {
    for (const double q : {0.9, 0.95, 0.975, 0.99, 0.995, 0.999, 0.9999}) {
      SCOPED_TRACE("q = " + std::to_string(q) + ", df = " + std::to_string(df));
      expect_relative(student_t_two_sided_p(student_t_quantile(q, df), df), 2 * (1 - q), 1e-13);
    }
  }
}

TEST(Wilson, MatchesTheClosedForm) {
  struct Case {
    std::int64_t correct, n;
    // z = 1.959963984540054 (scipy.stats.norm.ppf(0.975)), with k = correct, in Python:
    // (k + z*z/2 -/+ z*math.sqrt(k*(n-k)/n + z*z/4)) / (n + z*z)
    double low, high;
  };
  const Case cases[] = {
      {90, 100, 0.8256343384950865, 0.944770862939325},
      {0, 10, 0.0, 0.2775327998628892},
      {10, 10, 0.7224672001371107, 1.0},
      {7, 10, 0.39677814746114537, 0.8922087325936989},
      {450, 500, 0.8705780903680599, 0.9233224372626982},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::to_string(c.correct) + " of " + std::to_string(c.n));
    const Interval interval = wilson_interval(c.correct, c.n);
    EXPECT_EQ(interval.method, "wilson");
    EXPECT_EQ(interval.n, c.n);
    EXPECT_EQ(interval.mean, static_cast<double>(c.correct) / static_cast<double>(c.n));
    EXPECT_TRUE(std::isnan(interval.sd));
    EXPECT_NEAR(interval.low, c.low, 1e-15);
    EXPECT_NEAR(interval.high, c.high, 1e-15);
  }
}

TEST(TInterval, MatchesTheStudentInterval) {
  // mean and sd: numpy's v.mean() and v.std(ddof=1). low, high: mean -/+ ppf(0.975, 4) * sd /
  // sqrt(5) with mpmath, equal here to scipy.stats.t.interval(0.95, 4, loc=mean,
  // scale=scipy.stats.sem(v)).
  const Interval five = t_interval({0.81, 0.84, 0.79, 0.86, 0.80});
  EXPECT_EQ(five.method, "t");
  EXPECT_EQ(five.n, 5);
  expect_relative(five.mean, 0.82);
  expect_relative(five.sd, 0.029154759474226473);
  expect_relative(five.low, 0.7837995847845628);
  expect_relative(five.high, 0.8562004152154371);

  // scipy.stats.t.interval(0.95, 1, loc=0.6, scale=sem) gives -0.6706204736432092,
  // 1.8706204736432093, off by 4e-11 through t.ppf(0.975, 1); these are from ppf(0.975, 1).
  const Interval two = t_interval({0.5, 0.7});
  expect_relative(two.mean, 0.6);
  expect_relative(two.sd, 0.14142135623730948);
  expect_relative(two.low, -0.6706204736174691);
  expect_relative(two.high, 1.870620473617469);

  const Interval one = t_interval({0.25});
  EXPECT_EQ(one.n, 1);
  EXPECT_EQ(one.mean, 0.25);
  EXPECT_TRUE(std::isnan(one.sd));
  EXPECT_TRUE(std::isnan(one.low));
  EXPECT_TRUE(std::isnan(one.high));
  EXPECT_EQ(one.method, "");
}

TEST(Holm, MatchesTheHandWorkedExample) {
  // Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> max 0.06.
  const std::vector<double> adjusted = holm_adjust({0.01, 0.04, 0.03, 0.005});
  ASSERT_EQ(adjusted.size(), 4u);
  EXPECT_DOUBLE_EQ(adjusted[0], 0.03);
  EXPECT_DOUBLE_EQ(adjusted[1], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[2], 0.06);
  EXPECT_DOUBLE_EQ(adjusted[3], 0.02);
  EXPECT_EQ(holm_adjust({0.5, 0.6}), (std::vector<double>{1.0, 1.0}));  // capped at 1
  EXPECT_EQ(holm_adjust({0.2}), (std::vector<double>{0.2}));
  EXPECT_TRUE(holm_adjust({}).empty());
}

TEST(CompareModels, IdenticalModelsShowNoDifference) {
  const auto stats = compare_models({baseline_of("scratch", {run_right_on(1, 0, 100, 0, 80)}),
                                     model_of("ft", "scratch", {run_right_on(2, 0, 100, 0, 80)})});
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_TRUE(stats[0].is_baseline);
  EXPECT_FALSE(stats[0].comparison);
  EXPECT_EQ(stats[0].note, "");
  ASSERT_TRUE(stats[1].comparison);
  const Comparison& c = *stats[1].comparison;
  EXPECT_EQ(c.baseline, "scratch");
  EXPECT_EQ(c.test, "mcnemar_exact");
  EXPECT_EQ(c.difference, 0.0);
  EXPECT_EQ(c.p, 1.0);
  EXPECT_EQ(c.p_holm, 1.0);
  EXPECT_EQ(c.verdict, "no detectable difference");
}

TEST(CompareModels, OneReplicateUsesMcNemarAndWilson) {
  // The model is right on 30 images where the baseline is wrong, never the reverse.
  const auto stats =
      compare_models({baseline_of("scratch", {run_right_on(1, 0, 100, 0, 60, 0.55)}),
                      model_of("ft", "scratch", {run_right_on(2, 0, 100, 0, 90, 0.85)})});
  const ModelStatistics& ft = stats[1];
  EXPECT_EQ(ft.replicates, 1);
  EXPECT_EQ(ft.accuracy.method, "wilson");
  EXPECT_EQ(ft.accuracy.n, 100);
  EXPECT_EQ(ft.accuracy.mean, 0.9);
  EXPECT_NEAR(ft.accuracy.low, 0.8256343384950865, 1e-15);  // the Wilson case 90 of 100 above
  EXPECT_NEAR(ft.accuracy.high, 0.944770862939325, 1e-15);
  EXPECT_EQ(ft.f1.mean, 0.85);
  EXPECT_EQ(ft.f1.method, "");
  EXPECT_TRUE(std::isnan(ft.f1.sd));
  EXPECT_TRUE(std::isnan(ft.f1.low));

  ASSERT_TRUE(ft.comparison);
  const Comparison& c = *ft.comparison;
  EXPECT_EQ(c.test, "mcnemar_exact");
  EXPECT_EQ(c.pairs, 1);
  ASSERT_EQ(c.mcnemar.size(), 1u);
  EXPECT_EQ(c.mcnemar[0].run_id, 2);
  EXPECT_EQ(c.mcnemar[0].baseline_run_id, 1);
  EXPECT_EQ(c.mcnemar[0].n, 100);
  EXPECT_EQ(c.mcnemar[0].model_only, 30);
  EXPECT_EQ(c.mcnemar[0].baseline_only, 0);
  EXPECT_EQ(c.p, std::ldexp(1.0, -29));  // 2 * 2^-30
  EXPECT_EQ(c.statistic, 0.0);
  EXPECT_EQ(c.df, 0.0);
  expect_relative(c.difference, 0.3);
  // d -/+ z * sqrt(b + c - (b - c)^2 / n) / n with b = 30, c = 0, n = 100, in Python
  EXPECT_NEAR(c.low, 0.21018316681457944, 1e-15);
  EXPECT_NEAR(c.high, 0.38981683318542054, 1e-15);
  EXPECT_EQ(c.verdict, "better");
}

TEST(CompareModels, WrongWhereTheBaselineIsRightIsWorse) {
  const auto stats = compare_models({baseline_of("scratch", {run_right_on(1, 0, 100, 0, 90)}),
                                     model_of("ft", "scratch", {run_right_on(2, 0, 100, 0, 60)})});
  const Comparison& c = *stats[1].comparison;
  EXPECT_EQ(c.mcnemar[0].model_only, 0);
  EXPECT_EQ(c.mcnemar[0].baseline_only, 30);
  EXPECT_EQ(c.p, std::ldexp(1.0, -29));
  expect_relative(c.difference, -0.3);
  EXPECT_NEAR(c.low, -0.38981683318542054, 1e-15);
  EXPECT_NEAR(c.high, -0.21018316681457944, 1e-15);
  EXPECT_EQ(c.verdict, "worse");
}

TEST(CompareModels, ThreeReplicatesUsePairedT) {
  // Accuracies: model 0.70, 0.75, 0.66; baseline 0.60, 0.62, 0.58.
  const auto stats = compare_models(
      {baseline_of("scratch", {run_right_on(1, 0, 100, 0, 60), run_right_on(2, 1, 100, 0, 62),
                               run_right_on(3, 2, 100, 0, 58)}),
       model_of("ft", "scratch",
                {run_right_on(4, 0, 100, 0, 70, 0.69), run_right_on(5, 1, 100, 5, 80, 0.74),
                 run_right_on(6, 2, 100, 0, 66, 0.65)})});
  const ModelStatistics& ft = stats[1];
  EXPECT_EQ(ft.replicates, 3);
  // a = numpy.array([70, 75, 66]) / 100: a.mean(), a.std(ddof=1); low, high with ppf(0.975, 2).
  EXPECT_EQ(ft.accuracy.method, "t");
  EXPECT_EQ(ft.accuracy.n, 3);
  expect_relative(ft.accuracy.mean, 0.7033333333333333);
  expect_relative(ft.accuracy.sd, 0.045092497528228935);
  expect_relative(ft.accuracy.low, 0.5913173597064513);
  expect_relative(ft.accuracy.high, 0.8153493069602152);
  // The same for f1 = [0.69, 0.74, 0.65].
  EXPECT_EQ(ft.f1.method, "t");
  expect_relative(ft.f1.mean, 0.6933333333333334);
  expect_relative(ft.f1.sd, 0.04509249752822893);
  expect_relative(ft.f1.low, 0.5813173597064514);
  expect_relative(ft.f1.high, 0.8053493069602153);

  ASSERT_TRUE(ft.comparison);
  const Comparison& c = *ft.comparison;
  EXPECT_EQ(c.test, "paired_t");
  EXPECT_EQ(c.pairs, 3);
  EXPECT_EQ(c.df, 2.0);
  // r = scipy.stats.ttest_rel(numpy.array([70, 75, 66]) / 100, numpy.array([60, 62, 58]) / 100):
  // r.statistic, r.pvalue, and the mean of the differences.
  expect_relative(c.statistic, 7.111887749987424);
  expect_relative(c.p, 0.019203404389084324);
  expect_relative(c.difference, 0.10333333333333335);
  // r.confidence_interval() is 0.04081723853722459, 0.1658494281294421 (through t.ppf(0.975, 2));
  // mean(d) -/+ ppf(0.975, 2) * sd(d) / sqrt(3):
  expect_relative(c.low, 0.04081723853957567);
  expect_relative(c.high, 0.16584942812709103);
  EXPECT_EQ(c.verdict, "better");
  // One McNemar test per pair; the second: the model alone right on [62, 80), the baseline alone
  // on [0, 5). scipy.stats.binomtest(5, 23, 0.5).pvalue
  ASSERT_EQ(c.mcnemar.size(), 3u);
  EXPECT_EQ(c.mcnemar[1].replicate, 1);
  EXPECT_EQ(c.mcnemar[1].model_only, 18);
  EXPECT_EQ(c.mcnemar[1].baseline_only, 5);
  EXPECT_EQ(c.mcnemar[1].p, 0.010622024536132812);
}

TEST(CompareModels, PairsOnlyTheReplicatesBothHave) {
  // The model lacks replicate 1 (failed); the baseline lacks replicate 2.
  const auto stats = compare_models(
      {baseline_of("scratch", {run_right_on(1, 0, 100, 0, 60), run_right_on(2, 1, 100, 0, 62),
                               run_right_on(3, 3, 100, 0, 58)}),
       model_of("ft", "scratch",
                {run_right_on(4, 0, 100, 0, 70), run_right_on(5, 2, 100, 0, 75),
                 run_right_on(6, 3, 100, 0, 66)})});
  const Comparison& c = *stats[1].comparison;
  EXPECT_EQ(c.pairs, 2);
  ASSERT_EQ(c.mcnemar.size(), 2u);
  EXPECT_EQ(c.mcnemar[0].replicate, 0);
  EXPECT_EQ(c.mcnemar[1].replicate, 3);
  EXPECT_EQ(c.mcnemar[1].baseline_run_id, 3);
  EXPECT_EQ(c.df, 1.0);
}

TEST(CompareModels, EqualDifferencesGiveADegenerateInterval) {
  const auto stats = compare_models(
      {baseline_of("scratch", {run_right_on(1, 0, 100, 0, 60), run_right_on(2, 1, 100, 0, 60)}),
       model_of("ft", "scratch",
                {run_right_on(3, 0, 100, 0, 70), run_right_on(4, 1, 100, 10, 80)})});
  const Comparison& c = *stats[1].comparison;
  EXPECT_EQ(c.test, "paired_t");
  EXPECT_EQ(c.p, 0.0);
  EXPECT_EQ(c.low, c.difference);
  EXPECT_EQ(c.high, c.difference);
  EXPECT_EQ(c.verdict, "better");
}

TEST(CompareModels, HolmAdjustsWithinEachBaseline) {
  // Against a baseline right on [0, 50): b = 20, 6 and 5 with c = 0, so p = 2^-19, 2^-5, 2^-4.
  // Holm: 3 * 2^-19; 2 * 2^-5 = 0.0625; max(1 * 2^-4, 0.0625). "ft_6" is below alpha before the
  // adjustment and not after.
  const auto stats = compare_models({
      baseline_of("scratch", {run_right_on(1, 0, 100, 0, 50)}),
      model_of("ft_20", "scratch", {run_right_on(2, 0, 100, 0, 70)}),
      model_of("ft_6", "scratch", {run_right_on(3, 0, 100, 0, 56)}),
      model_of("ft_5", "scratch", {run_right_on(4, 0, 100, 0, 55)}),
      baseline_of("other", {run_right_on(5, 0, 100, 0, 50)}),
      model_of("vs_other", "other", {run_right_on(6, 0, 100, 0, 56)}),
  });
  ASSERT_EQ(stats.size(), 6u);
  EXPECT_EQ(stats[1].comparison->p, std::ldexp(1.0, -19));
  EXPECT_EQ(stats[1].comparison->p_holm, 3 * std::ldexp(1.0, -19));
  EXPECT_EQ(stats[1].comparison->verdict, "better");
  EXPECT_EQ(stats[2].comparison->p, 0.03125);
  EXPECT_EQ(stats[2].comparison->p_holm, 0.0625);
  EXPECT_EQ(stats[2].comparison->verdict, "no detectable difference");
  EXPECT_EQ(stats[3].comparison->p, 0.0625);
  EXPECT_EQ(stats[3].comparison->p_holm, 0.0625);
  EXPECT_EQ(stats[3].comparison->verdict, "no detectable difference");
  // A family of one: no adjustment.
  EXPECT_EQ(stats[5].comparison->p_holm, 0.03125);
  EXPECT_EQ(stats[5].comparison->verdict, "better");
}

TEST(CompareModels, OtherTestSetIsNotCompared) {
  const auto stats =
      compare_models({baseline_of("scratch", {run_right_on(1, 0, 100, 0, 60)}),
                      model_of("ft", "scratch", {run_right_on(2, 0, 100, 0, 90)}, "other")});
  EXPECT_FALSE(stats[1].comparison);
  EXPECT_EQ(stats[1].note, "test set differs from baseline 'scratch'");
  EXPECT_EQ(stats[1].accuracy.mean, 0.9);
}

TEST(CompareModels, BaselineWithoutRunsIsNotCompared) {
  const auto stats = compare_models(
      {baseline_of("scratch", {}), model_of("ft", "scratch", {run_right_on(2, 0, 100, 0, 90)}),
       model_of("vit", "absent", {run_right_on(3, 0, 100, 0, 90)}), model_of("failed", "vit", {})});
  EXPECT_EQ(stats[0].replicates, 0);
  EXPECT_TRUE(std::isnan(stats[0].accuracy.mean));
  EXPECT_FALSE(stats[1].comparison);
  EXPECT_EQ(stats[1].note, "baseline 'scratch' has no completed run");
  EXPECT_FALSE(stats[2].comparison);
  EXPECT_EQ(stats[2].note, "baseline 'absent' has no completed run");
  EXPECT_FALSE(stats[3].comparison);
  EXPECT_EQ(stats[3].note, "no completed run");
}

TEST(CompareModels, LabelsAndPredictionsOfOtherLengthsThrow) {
  ReplicateResult short_run = run_right_on(7, 0, 100, 0, 90);
  short_run.predicted.pop_back();
  EXPECT_THROW_MSG(compare_models({baseline_of("scratch", {run_right_on(1, 0, 100, 0, 60)}),
                                   model_of("ft", "scratch", {short_run})}),
                   Error, "model 'ft' run 7: 100 labels but 99 predictions");
}

TEST(CompareModels, PairedRunsOnOtherTestSizesThrow) {
  EXPECT_THROW_MSG(compare_models({baseline_of("scratch", {run_right_on(1, 0, 90, 0, 60)}),
                                   model_of("ft", "scratch", {run_right_on(7, 0, 100, 0, 90)})}),
                   Error, "model 'ft' run 7: 100 test samples but baseline 'scratch' run 1 has 90");
}

}  // namespace
}  // namespace tlr::stats
