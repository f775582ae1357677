#!/usr/bin/python3
"""Helpers of bench/five_models/run.sh (standard library only).

  compare.py plan DRY_RUN_TEXT PLAN_JSON     the runner's --dry-run output -> {model: resolved}
  compare.py epochs PLAN_JSON                "name=epochs ..." of each model
  compare.py python-args PLAN_JSON CONFIG    five_models.py arguments for the same epochs and
                                             per-class counts; warns on stderr where the script's
                                             fixed settings (CONFIG: its --print-config) differ
  compare.py report --db DB --results DIR --python-out FILE --python-splits FILE
                    [--python-bf16-out FILE] --wall cold=S,warm=S,python=S[,python_bf16=S]
                    --threads N [--precision P]                  the comparison table
"""
import argparse
import json
import os
import sqlite3
import sys

ORDER = ["source_pretrain", "basic_cnn", "basic_cnn_aug", "vgg_features", "vgg_frozen_aug",
         "vgg_fine_tune"]


def parse_dry_run(text):
    decoder = json.JSONDecoder()
    models, at = {}, 0
    while True:
        at = text.find("\nmodel ", at)
        if at < 0:
            return models
        line_end = text.index("\n", at + 1)
        name = text[at + 7:line_end].split()[0]
        body = text[line_end:].lstrip()
        models[name], _ = decoder.raw_decode(body)
        at = line_end


def counts(model):
    per = model["data"]["split"]["per_class"]
    return f"{per['train']},{per['val']},{per['test']}"


def cmd_plan(args):
    with open(args[0]) as f:
        models = parse_dry_run(f.read())
    if sorted(models) != sorted(ORDER):
        sys.exit(f"compare.py: the experiment's models are {sorted(models)}, five_models.py "
                 f"runs {ORDER}")
    for name, m in models.items():
        if m["training"].get("early_stopping", {}).get("patience", 0) != 0:
            sys.exit(f"compare.py: {name} still has early stopping on")
    with open(args[1], "w") as f:
        json.dump(models, f, indent=1)


def cmd_epochs(args):
    with open(args[0]) as f:
        plan = json.load(f)
    print(" ".join(f"{n}={plan[n]['training']['epochs']}" for n in ORDER))


def cmd_python_args(args):
    with open(args[0]) as f:
        plan = json.load(f)
    with open(args[1]) as f:
        config = json.load(f)
    source = counts(plan["source_pretrain"])
    targets = {counts(plan[n]) for n in ORDER[1:]}
    if len(targets) != 1:
        sys.exit(f"compare.py: the target models use different per_class counts {targets}")
    target = targets.pop()

    # The script's fixed settings against what the runner will run.
    for name in ORDER:
        m, c = plan[name], config["models"][name]
        t = m["training"]
        checks = [("batch_size", t["batch_size"], c["batch"]),
                  ("optimizer", t["optimizer"]["name"], c["optimizer"]),
                  ("lr", t["optimizer"]["lr"], c["lr"]),
                  ("augmenter", bool(m.get("augmenter")), c["augment"])]
        if m.get("augmenter"):
            params = m["augmenter"]["params"]
            checks += [(k, params.get(k), v) for k, v in config["augment"].items()]
        for key, runner_value, python_value in checks:
            if runner_value != python_value:
                print(f"warning: {name}: {key} is {runner_value} in the runner's plan, "
                      f"{python_value} in five_models.py", file=sys.stderr)
    epochs = ",".join(f"{n}={plan[n]['training']['epochs']}" for n in ORDER)
    print(f"--epochs {epochs} --source-per-class {source} --target-per-class {target}")


def read_python(path):
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3 or parts[0] not in ORDER:
                continue
            row = {"seconds": float(parts[1]), "acc": float(parts[2])}
            for item in parts[3:]:
                k, v = item.split("=")
                row[k] = v
            out[parts[0]] = row
    return out


def runner_rows(db, experiment_id):
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    columns = {r["name"] for r in con.execute("PRAGMA table_info(run_summary)")}
    # compute_precision: what training.precision resolved to (schema v5 on; older runs are fp32).
    precision = ("s.compute_precision" if "compute_precision" in columns
                 else "NULL AS compute_precision")
    rows = con.execute(
        "SELECT s.model, s.status, s.wall_seconds, s.test_accuracy, s.epochs_run, s.error, "
        f"{precision}, "
        "(SELECT value FROM metrics m WHERE m.run_id = s.run_id AND m.name = "
        "'reused_published_weights') AS reused "
        "FROM run_summary s WHERE s.experiment_id = ? ORDER BY s.run_id", (experiment_id,))
    out = {r["model"]: dict(r) for r in rows}
    con.close()
    return out


def skipped_models(db, experiment_id):
    """Models an invocation skipped (their identical run had completed): no run of their own."""
    con = sqlite3.connect(db)
    names = {r[0] for r in con.execute(
        "SELECT r.model FROM experiment_runs x JOIN runs r ON r.id = x.run_id "
        "WHERE x.experiment_id = ? AND x.how = 'skipped'", (experiment_id,))}
    con.close()
    return names


def experiment_ids(db):
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute(
        "SELECT id FROM experiments WHERE name = 'five_models' ORDER BY id")]
    con.close()
    return ids


def fmt(v, spec):
    return "-" if v is None else format(v, spec)


def ratio(python, runner):
    return "-" if not python or not runner else f"{python / runner:.2f}x"


def cmd_report(argv):
    p = argparse.ArgumentParser(prog="compare.py report")
    p.add_argument("--db", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--python-out", required=True)
    p.add_argument("--python-splits", required=True)
    p.add_argument("--python-bf16-out", default="",
                   help="five_models.py --precision bf16's output (omitted: not run)")
    p.add_argument("--wall", required=True,
                   help="cold=S,warm=S,python=S[,python_bf16=S] (process wall seconds)")
    p.add_argument("--threads", default="?")
    p.add_argument("--precision", default="fp32", help="the runner's --precision setting")
    a = p.parse_args(argv)
    wall = {k: float(v) for k, v in (item.split("=") for item in a.wall.split(","))}
    ids = experiment_ids(a.db)
    if len(ids) < 2:
        sys.exit(f"compare.py: {a.db} holds {len(ids)} five_models runs, expected 2 (cold, warm)")
    cold, warm = runner_rows(a.db, ids[-2]), runner_rows(a.db, ids[-1])
    warm_skipped = skipped_models(a.db, ids[-1])  # the source stage: run.sh reruns the five only
    py = read_python(a.python_out)
    bf16 = read_python(a.python_bf16_out) if a.python_bf16_out else None
    with open(a.python_splits) as f:
        py_splits = json.load(f)

    problems = []
    for name in ORDER:
        for label, rows in (("cold", cold), ("warm", warm)):
            r = rows.get(name)
            if r is None and label == "warm" and name in warm_skipped:
                continue
            if r is None or r["status"] != "completed":
                problems.append(f"runner {label} {name}: "
                                f"{'missing' if r is None else r['status'] + ' ' + str(r['error'])}")
        if name not in py:
            problems.append(f"python {name}: missing (see python.log)")
        if bf16 is not None and name not in bf16:
            problems.append(f"python bf16 {name}: missing (see python_bf16.log)")

    print(f"five models, runner vs plain PyTorch, {a.threads} thread(s), early stopping off on "
          f"both sides (every model runs all its epochs)")
    print("ratio = Python seconds / runner seconds (above 1: the runner is faster); "
          "cold = fresh results dir, warm = second run (published source weights, cached "
          "images and features reused)")
    print()
    header = (f"{'model':<16} {'epochs':>6} {'train/val/test':>15} {'runner cold':>11} "
              f"{'runner warm':>11} {'python':>8} {'ratio cold':>10} {'ratio warm':>10} "
              f"{'acc runner':>10} {'acc python':>10}")
    if bf16 is not None:  # the bf16-autocast Python run: its seconds and the cold ratio to them
        header += f" {'py bf16':>8} {'cold/bf16':>9}"
    print(header)
    print("-" * len(header))
    total = {"cold": 0.0, "warm": 0.0, "python": 0.0, "bf16": 0.0}
    targets = {"cold": 0.0, "warm": 0.0, "python": 0.0, "bf16": 0.0}  # the five compared models
    split_notes = []
    for name in ORDER:
        c, w, q = cold.get(name, {}), warm.get(name, {}), py.get(name, {})
        # Split sizes and ids: the runner's split.json of this model against the script's.
        sizes = "-"
        path = os.path.join(a.results, "five_models", name, "split.json")
        if os.path.exists(path):
            with open(path) as f:
                rs = json.load(f)
            stage = "source" if name == "source_pretrain" else "target"
            sizes = "/".join(str(len(rs[s])) for s in ("train", "val", "test"))
            py_sizes = "/".join(str(q.get(s, "?")) for s in ("train", "val", "test"))
            if py_sizes != sizes:
                split_notes.append(f"{name}: runner {sizes} images, python {py_sizes}")
            elif any(rs[s] != py_splits[stage][s] for s in ("train", "val", "test")):
                split_notes.append(f"{name}: same counts, different image ids")
        epochs = str(c.get("epochs_run", "-"))
        if q.get("epochs") and str(q["epochs"]) != epochs:
            epochs += "/" + str(q["epochs"])
            split_notes.append(f"{name}: runner ran {c.get('epochs_run')} epochs, python "
                               f"{q['epochs']}")
        cs, ws, ps = c.get("wall_seconds"), w.get("wall_seconds"), q.get("seconds")
        bs = (bf16 or {}).get(name, {}).get("seconds")
        total["cold"] += cs or 0
        total["warm"] += ws or 0
        total["python"] += ps or 0
        total["bf16"] += bs or 0
        if name != "source_pretrain":
            targets["cold"] += cs or 0
            targets["warm"] += ws or 0
            targets["python"] += ps or 0
            targets["bf16"] += bs or 0
        warm_text = fmt(ws, ".1f") + ("*" if w.get("reused") else "")
        if not w and name in warm_skipped:
            warm_text = "skipped"
        line = (f"{name:<16} {epochs:>6} {sizes:>15} {fmt(cs, '.1f'):>11} {warm_text:>11} "
                f"{fmt(ps, '.1f'):>8} {ratio(ps, cs):>10} {ratio(ps, ws):>10} "
                f"{fmt(c.get('test_accuracy'), '.4f'):>10} {fmt(q.get('acc'), '.4f'):>10}")
        if bf16 is not None:
            line += f" {fmt(bs, '.1f'):>8} {ratio(bs, cs):>9}"
        print(line)
    print("-" * len(header))

    def total_line(label, t, cold_key, warm_key, python_key, bf16_key):
        line = (f"{label:<16} {'':>6} {'':>15} {t[cold_key]:>11.1f} {t[warm_key]:>11.1f} "
                f"{t[python_key]:>8.1f} {ratio(t[python_key], t[cold_key]):>10} "
                f"{ratio(t[python_key], t[warm_key]):>10}")
        if bf16 is not None:
            line += (f" {'':>10} {'':>10} {t.get(bf16_key, 0):>8.1f} "
                     f"{ratio(t.get(bf16_key), t[cold_key]):>9}")
        print(line)

    total_line("five targets", targets, "cold", "warm", "python", "bf16")
    total_line("sum of models", total, "cold", "warm", "python", "bf16")
    total_line("end to end", wall, "cold", "warm", "python", "python_bf16")
    print()
    print("five targets = the compared models, everything after the source stage")
    if bf16 is not None:
        print("py bf16 = five_models.py --precision bf16 (torch.autocast cpu bfloat16 around every "
              "forward pass); cold/bf16 = its seconds / runner cold seconds")
    print("end to end = the whole process (start-up, plugin loading / import torch, data, every "
          "model, report); * = the runner reused the published source weights (no training); "
          "skipped = the warm run skipped it (its identical run had completed)")
    print("data: " + ("both sides used the same images (identical ids in every split)"
                      if not split_notes else "; ".join(split_notes)))
    resolved = sorted({r["compute_precision"] or "?" for r in cold.values()})
    e2e = wall["python"] / wall["cold"] if wall["cold"] else 0
    against_bf16 = (f"{ratio(wall.get('python_bf16'), wall['cold'])} PyTorch bf16 autocast"
                    if bf16 is not None else "PyTorch bf16 autocast not run (--no-python-bf16)")
    print(f"end to end cold: runner ({a.precision} = {'+'.join(resolved)} here) "
          f"{wall['cold']:.1f} s; {e2e:.2f}x PyTorch fp32 ({wall['python']:.1f} s), "
          + (f"{against_bf16} ({wall['python_bf16']:.1f} s)" if bf16 is not None
             else against_bf16))
    print(f"goal: runner >= 1.5x faster end to end (cold) than the fp32 script: {e2e:.2f}x, "
          f"{'met' if e2e >= 1.5 else 'NOT met'}")
    if problems:
        print("problems: " + "; ".join(problems))
        return 1
    return 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "plan":
        cmd_plan(rest)
    elif cmd == "epochs":
        cmd_epochs(rest)
    elif cmd == "python-args":
        cmd_python_args(rest)
    elif cmd == "report":
        sys.exit(cmd_report(rest))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
