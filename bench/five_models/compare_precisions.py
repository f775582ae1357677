#!/usr/bin/python3
"""bf16 against fp32, model by model, from one results.db holding both (runs.compute_precision).

Pairs replicate r of a model in bf16 with its replicate r in fp32 (same seed, same test images):
the mean difference of test accuracy in percentage points with its 95% t interval, the paired
t-test p, and per pair the exact McNemar counts (test images only fp32 got right / only bf16 got
right) with their p. Usage:
  /usr/bin/python3 bench/five_models/compare_precisions.py results.db [model...]
(default: every model with completed runs in both precisions).
"""
import sqlite3
import sys

from scipy import stats


def accuracy_and_hits(db, model):
    acc, hits = {}, {}
    for run_id, replicate, precision in db.execute(
            "SELECT id, replicate, compute_precision FROM runs "
            "WHERE model = ? AND status = 'completed' ORDER BY id", (model,)):
        acc[(precision, replicate)] = db.execute(
            "SELECT value FROM metrics WHERE run_id = ? AND split = 'test' AND name = 'accuracy'",
            (run_id,)).fetchone()[0]
        hits[(precision, replicate)] = {
            sample: truth == predicted for sample, truth, predicted in db.execute(
                "SELECT sample, true_label, predicted_label FROM predictions "
                "WHERE run_id = ? AND split = 'test'", (run_id,))}
    return acc, hits


def main():
    db = sqlite3.connect(sys.argv[1])
    models = sys.argv[2:] or [m for (m,) in db.execute(
        "SELECT model FROM runs WHERE status = 'completed' GROUP BY model "
        "HAVING COUNT(DISTINCT compute_precision) = 2 ORDER BY MIN(id)")]
    for model in models:
        acc, hits = accuracy_and_hits(db, model)
        reps = sorted(r for (p, r) in acc if p == "bf16" and ("fp32", r) in acc)
        if len(reps) < 2:
            print(f"{model}: fewer than 2 replicate pairs")
            continue
        diff = [100 * (acc[("bf16", r)] - acc[("fp32", r)]) for r in reps]
        n = len(diff)
        mean = sum(diff) / n
        half = stats.t.ppf(0.975, n - 1) * stats.tstd(diff) / n ** 0.5
        p = stats.ttest_rel([acc[("bf16", r)] for r in reps],
                            [acc[("fp32", r)] for r in reps]).pvalue
        pairs = []
        for r in reps:
            a, b = hits[("fp32", r)], hits[("bf16", r)]
            only_fp32 = sum(1 for s in a if a[s] and not b[s])
            only_bf16 = sum(1 for s in a if b[s] and not a[s])
            m = only_fp32 + only_bf16
            mp = stats.binomtest(only_fp32, m, 0.5).pvalue if m else 1.0
            pairs.append(f"{only_fp32}/{only_bf16} p={mp:.3g}")
        fp32 = 100 * sum(acc[("fp32", r)] for r in reps) / n
        bf16 = 100 * sum(acc[("bf16", r)] for r in reps) / n
        print(f"{model}: fp32 {fp32:.2f}%, bf16 {bf16:.2f}%, bf16 - fp32 {mean:+.2f} "
              f"[{mean - half:+.2f}, {mean + half:+.2f}] pp, paired t p={p:.3g} ({n} pairs); "
              f"McNemar per pair (only fp32 right/only bf16 right): {'; '.join(pairs)}")


if __name__ == "__main__":
    main()
