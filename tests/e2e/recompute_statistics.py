#!/usr/bin/env python3
"""Recomputes every statistic the runner stored in results.db (model_statistics, mcnemar_tests)
from the per-sample predictions table alone, with scipy, and compares them to 1e-9.

usage: recompute_statistics.py RESULTS_DB EXPERIMENT_ID
Prints one line per check that fails and a last line "checked N values"; exits 1 on a mismatch.
F1 as the runner defines it: of label 1 for two classes (sklearn's average='binary'), else the
unweighted mean over classes (average='macro')."""
import math
import sqlite3
import sys

from scipy import stats

TOLERANCE = 1e-9
Z = stats.norm.ppf(0.975)


def main(db_path, experiment_id):
    db = sqlite3.connect(db_path)
    failures = []
    checked = 0

    def check(what, stored, expected):
        nonlocal checked
        checked += 1
        if stored is None or expected is None or (isinstance(expected, float) and math.isnan(expected)):
            if not (stored is None and (expected is None or math.isnan(expected))):
                failures.append(f"{what}: stored {stored}, recomputed {expected}")
            return
        if abs(stored - expected) > TOLERANCE * max(1.0, abs(expected)):
            failures.append(f"{what}: stored {stored!r}, recomputed {expected!r}")

    # The invocation's runs, by model and replicate, with their test predictions.
    runs = {}
    for run_id, model, replicate in db.execute(
            "SELECT r.id, r.model, r.replicate FROM experiment_runs AS l JOIN runs AS r "
            "ON r.id = l.run_id WHERE l.experiment_id = ? AND r.status = 'completed'",
            (experiment_id,)):
        rows = db.execute("SELECT sample, true_label, predicted_label FROM predictions "
                          "WHERE run_id = ? AND split = 'test' ORDER BY sample", (run_id,)).fetchall()
        classes = db.execute("SELECT COUNT(DISTINCT true_label) FROM confusion WHERE run_id = ? "
                             "AND split = 'test'", (run_id,)).fetchone()[0]
        runs.setdefault(model, {})[replicate] = (run_id, rows, classes)

    def accuracy(rows):
        return sum(1 for _, t, p in rows if t == p) / len(rows)

    def class_f1(rows, c):
        tp = sum(1 for _, t, p in rows if t == c and p == c)
        fp = sum(1 for _, t, p in rows if t != c and p == c)
        fn = sum(1 for _, t, p in rows if t == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    def f1(rows, classes):
        # sklearn's average='binary' (label 1) for two classes, else 'macro'.
        if classes == 2:
            return class_f1(rows, 1)
        return sum(class_f1(rows, c) for c in range(classes)) / classes

    def t_interval(values):
        n = len(values)
        mean = sum(values) / n
        if n < 2:
            return mean, None, None, None
        sd = stats.tstd(values)
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        return mean, sd, mean - half, mean + half

    # Every recorded accuracy and F1 equals what the predictions give.
    for model, replicates in runs.items():
        for replicate, (run_id, rows, classes) in replicates.items():
            for name, value in (("accuracy", accuracy(rows)), ("f1", f1(rows, classes))):
                stored = db.execute("SELECT value FROM metrics WHERE run_id = ? AND split = 'test' "
                                    "AND name = ?", (run_id, name)).fetchone()[0]
                check(f"run {run_id} test {name}", stored, value)

    rows = db.execute("SELECT model, replicates, accuracy_mean, accuracy_sd, accuracy_low, "
                      "accuracy_high, accuracy_interval, f1_mean, f1_sd, f1_low, f1_high, baseline, "
                      "pairs, difference, difference_low, difference_high, test, statistic, df, p, "
                      "p_holm, verdict FROM model_statistics WHERE experiment_id = ?",
                      (experiment_id,)).fetchall()
    if not rows:
        failures.append("no model_statistics rows")
    combined = {}  # baseline -> [(model, p, stored p_holm)]
    for (model, replicates, acc_mean, acc_sd, acc_low, acc_high, method, f1_mean, f1_sd, f1_low,
         f1_high, baseline, pairs, diff, diff_low, diff_high, test, statistic, df, p, p_holm,
         verdict) in rows:
        reps = runs.get(model, {})
        check(f"{model} replicates", replicates, len(reps))
        accs = [accuracy(reps[r][1]) for r in sorted(reps)]
        f1s = [f1(reps[r][1], reps[r][2]) for r in sorted(reps)]
        if len(accs) >= 2:
            mean, sd, low, high = t_interval(accs)
            if method != "t":
                failures.append(f"{model}: interval {method}, expected t")
        else:
            rows0 = reps[sorted(reps)[0]][1]
            n = len(rows0)
            k = sum(1 for _, t, p_ in rows0 if t == p_)
            mean, sd = k / n, None
            # Wilson score interval, the closed form.
            centre = (k + Z * Z / 2) / (n + Z * Z)
            half = Z * math.sqrt(k * (n - k) / n + Z * Z / 4) / (n + Z * Z)
            low, high = centre - half, centre + half
            if method != "wilson":
                failures.append(f"{model}: interval {method}, expected wilson")
        check(f"{model} accuracy mean", acc_mean, mean)
        check(f"{model} accuracy sd", acc_sd, sd)
        check(f"{model} accuracy low", acc_low, low)
        check(f"{model} accuracy high", acc_high, high)
        fm, fsd, fl, fh = t_interval(f1s)
        check(f"{model} f1 mean", f1_mean, fm)
        check(f"{model} f1 sd", f1_sd, fsd)
        check(f"{model} f1 low", f1_low, fl)
        check(f"{model} f1 high", f1_high, fh)
        if baseline is None:
            continue
        base = runs[baseline]
        common = sorted(set(reps) & set(base))
        check(f"{model} pairs", pairs, len(common))
        diffs = []
        for r in common:
            mine = {s: (t, p_) for s, t, p_ in reps[r][1]}
            theirs = {s: (t, p_) for s, t, p_ in base[r][1]}
            b = sum(1 for s, (t, p_) in mine.items() if p_ == t and theirs[s][1] != t)
            c = sum(1 for s, (t, p_) in mine.items() if p_ != t and theirs[s][1] == t)
            exact = stats.binomtest(min(b, c), b + c, 0.5).pvalue if b + c else 1.0
            stored = db.execute("SELECT model_only, baseline_only, p, n FROM mcnemar_tests WHERE "
                                "experiment_id = ? AND model = ? AND replicate = ?",
                                (experiment_id, model, r)).fetchone()
            check(f"{model} replicate {r} McNemar b", stored[0], b)
            check(f"{model} replicate {r} McNemar c", stored[1], c)
            check(f"{model} replicate {r} McNemar p", stored[2], min(1.0, exact))
            check(f"{model} replicate {r} McNemar n", stored[3], len(mine))
            diffs.append(accuracy(reps[r][1]) - accuracy(base[r][1]))
        if len(common) >= 2:
            if test != "paired_t":
                failures.append(f"{model}: test {test}, expected paired_t")
            mean, sd, low, high = t_interval(diffs)
            if sd > 0:
                result = stats.ttest_rel([accuracy(reps[r][1]) for r in common],
                                         [accuracy(base[r][1]) for r in common])
                expected_p, expected_t = result.pvalue, result.statistic
                check(f"{model} t", statistic, expected_t)
            else:
                expected_p = 1.0 if mean == 0 else 0.0
                low = high = mean
            check(f"{model} df", df, len(common) - 1)
        else:
            if test != "mcnemar_exact":
                failures.append(f"{model}: test {test}, expected mcnemar_exact")
            r = common[0]
            stored = db.execute("SELECT model_only, baseline_only, n FROM mcnemar_tests WHERE "
                                "experiment_id = ? AND model = ? AND replicate = ?",
                                (experiment_id, model, r)).fetchone()
            b, c, n = stored
            mean = (b - c) / n
            half = Z * math.sqrt(b + c - (b - c) ** 2 / n) / n
            low, high = mean - half, mean + half
            expected_p = min(1.0, stats.binomtest(min(b, c), b + c, 0.5).pvalue) if b + c else 1.0
        check(f"{model} difference", diff, mean)
        check(f"{model} difference low", diff_low, low)
        check(f"{model} difference high", diff_high, high)
        check(f"{model} p", p, expected_p)
        combined.setdefault(baseline, []).append((model, expected_p, p_holm, diff, verdict))

    # Holm over the models compared with one baseline.
    for baseline, entries in combined.items():
        order = sorted(range(len(entries)), key=lambda i: entries[i][1])
        m = len(entries)
        running = 0.0
        for rank, i in enumerate(order):
            running = max(running, min(1.0, (m - rank) * entries[i][1]))
            model, _, stored_holm, diff, verdict = entries[i]
            check(f"{model} p_holm", stored_holm, running)
            expected_verdict = ("better" if diff > 0 else "worse") if running < 0.05 and diff != 0 \
                else "no detectable difference"
            if verdict != expected_verdict:
                failures.append(f"{model}: verdict {verdict!r}, expected {expected_verdict!r}")

    for line in failures:
        print(line)
    print(f"checked {checked} values")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
