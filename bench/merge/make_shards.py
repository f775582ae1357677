#!/usr/bin/python3
"""Writes N result shards (one per cell) for bench/merge/run.sh: what N Slurm tasks of
`runner submit` would leave in <results>/<experiment>/shards/<cell>.db.

usage: make_shards.py TEMPLATE_DB CELLS_JSON EXPERIMENT_FILE SHARDS_DIR

TEMPLATE_DB: an empty results database at the runner's schema (the runner creates it, so the
  schema is the runner's own, not a copy of it here); every shard starts as a copy of it.
CELLS_JSON: `runner status FILE --format json` over an empty database: the cells (model
  "basic_cnn#k") and their identities, so the shards are the cells the file really has.
Each shard holds one invocation (experiments row) and one completed run of its cell with
realistic sizes: 100 epochs, 50 metrics, a 10x10 confusion matrix, 1000 test predictions
(10 probabilities each), 1 artifact, 5 run_plugins rows and its experiment_runs link.
The shards are left in WAL mode, as a task's Store leaves them. Standard library only.
"""
import hashlib
import json
import os
import random
import shutil
import sqlite3
import sys
import time
from datetime import datetime, timedelta, timezone

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
PLUGINS = [  # kind, component, plugin, version
    ("dataset", "idx", "idx", "0.1.0"),
    ("augmenter", "keras_image", "keras_image", "1.0.0"),
    ("backbone", "basic_cnn", "basic_cnn", "1.0.0"),
    ("head", "dense", "dense", "1.0.0"),
    ("strategy", "scratch", "scratch", "1.0.0"),
]
LIB = "/work/main/build/lib/tlr/plugins/libtlr_{kind}_{plugin}.so"
VERSIONS = json.dumps({"libtorch": "1.13.0", "opencv": "4.6.0", "sdk_abi": 5, "tlr": "0.1.0"},
                      separators=(",", ":"))
BASE_TIME = datetime(2026, 12, 1, 8, 0, 0, tzinfo=timezone.utc)


def probability_pool(n=4099):
    """Softmax-like outputs (predicted class, its score, the JSON array of 10 probabilities),
    drawn once: formatting 1000 fresh arrays per shard would dominate the generator's time."""
    rng = random.Random(1)
    pool = []
    for _ in range(n):
        weights = [rng.random() ** 3 for _ in range(10)]
        total = sum(weights)
        probabilities = [w / total for w in weights]
        predicted = max(range(10), key=probabilities.__getitem__)
        pool.append((predicted, probabilities[predicted],
                     "[" + ",".join("%.9f" % p for p in probabilities) + "]"))
    return pool


PROBABILITIES = probability_pool()


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def config_json(seed, replicate):
    """A resolved model as runs.config_json holds it (the structure of a real basic_cnn run),
    with the plugin libraries it used: about 2 KB."""
    config = {
        "backbone": {"params": {"in_channels": 1, "init": "keras", "kernel_size": 3,
                                "padding": "valid", "widths": [16, 64, 128]},
                     "plugin": "basic_cnn"},
        "data": {"dataset": {"params": {"classes": CLASSES,
                                        "root": "/usr/share/datasets/fashion-mnist",
                                        "test_images": "t10k-images-idx3-ubyte",
                                        "test_labels": "t10k-labels-idx1-ubyte",
                                        "train_images": "train-images-idx3-ubyte",
                                        "train_labels": "train-labels-idx1-ubyte"},
                             "plugin": "idx"},
                 "input": {"channels": 1, "scale": 0.00392156862745098, "size": [32, 32]},
                 "on_bad_image": "skip",
                 "split": {"classes": ["T-shirt/top", "Shirt"],
                           "per_class": {"test": 500, "train": 50, "val": 100}, "seed": 42}},
        "head": {"params": {"activation": "relu", "dropout": 0.0, "init": "keras",
                            "units": [512]}, "plugin": "dense"},
        "name": "basic_cnn", "output": "auto", "seed": seed, "replicate": replicate,
        "strategy": {"params": {"augment": True}, "plugin": "scratch"},
        "training": {"batch_size": 30, "early_stopping": {"monitor": "val_loss", "patience": 15},
                     "epochs": 100, "optimizer": {"lr": 0.001, "name": "rmsprop"},
                     "schedule": {"name": "none"}, "steps_per_epoch": 0},
        "libraries": {kind: {"path": LIB.format(kind=kind, plugin=plugin),
                             "sha256": sha(kind + plugin)} for kind, _, plugin, _ in PLUGINS},
    }
    return json.dumps(config, separators=(",", ":"))


def fill(db, k, cell, identity, yaml_text, experiment_file, rng):
    replicate = k - 1
    seed = 42 + 7919 * replicate
    host = "node%03d" % (k % 64)
    pid = 10000 + k
    started = BASE_TIME + timedelta(seconds=37 * k, milliseconds=k % 1000)
    finished = started + timedelta(seconds=600 + k % 90, milliseconds=123)
    config = config_json(seed, replicate)
    db.execute(
        "INSERT INTO experiments (id, name, file, yaml, host, pid, started_at, finished_at, "
        "status, compare_to) VALUES (1, 'merge_bench', ?, ?, ?, ?, ?, ?, 'completed', "
        "'basic_cnn')",
        (experiment_file, yaml_text, host, pid, iso(started - timedelta(seconds=2)),
         iso(finished)))
    db.execute(
        "INSERT INTO runs (id, experiment_id, model, strategy, backbone, config_json, config_hash, "
        "seed, status, error, host, pid, versions, threads, started_at, finished_at, "
        "wall_seconds, device, identity, resumes, replicate, compute_precision) VALUES "
        "(1, 1, 'basic_cnn', 'scratch', 'basic_cnn', ?, ?, ?, 'completed', NULL, ?, ?, ?, 1, ?, "
        "?, ?, 'cpu', ?, 0, ?, 'fp32')",
        (config, sha(config), seed, host, pid, VERSIONS, iso(started), iso(finished),
         (finished - started).total_seconds(), identity, replicate))
    epochs = []
    for e in range(1, 101):
        loss = 0.7 * 0.97 ** e + 0.05 * rng.random()
        epochs.append((1, "train", e, loss, 1 - loss / 1.4, loss + 0.05, 1 - loss / 1.3, 0.001,
                       5.0 + rng.random(), 20.0 + rng.random()))
    db.executemany(
        "INSERT INTO epochs (run_id, phase, epoch, train_loss, train_acc, val_loss, val_acc, lr, "
        "seconds, images_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", epochs)
    metrics = [(1, "test", name, rng.random()) for name in
               ["accuracy", "precision", "recall", "f1", "loss", "samples", "macro_precision",
                "macro_recall", "macro_f1"]]
    for c in CLASSES:
        metrics += [(1, "test", "%s/%s" % (what, c), rng.random())
                    for what in ("precision", "recall", "f1", "support")]
    metrics.append((1, "model", "trainable_params", 346465.0))
    db.executemany("INSERT INTO metrics (run_id, split, name, value) VALUES (?, ?, ?, ?)",
                   metrics)
    db.executemany(
        "INSERT INTO confusion (run_id, split, true_label, predicted_label, true_class, "
        "predicted_class, count) VALUES (1, 'test', ?, ?, ?, ?, ?)",
        [(t, p, CLASSES[t], CLASSES[p], 80 if t == p else rng.randrange(5))
         for t in range(10) for p in range(10)])
    offset = rng.randrange(len(PROBABILITIES))
    predictions = []
    for s in range(1000):
        predicted, score, text = PROBABILITIES[(offset + 7 * s) % len(PROBABILITIES)]
        predictions.append((s, "t10k-images-idx3-ubyte#%d" % (s * 7 % 10000), s % 10, predicted,
                            score, text))
    db.executemany(
        "INSERT INTO predictions (run_id, split, sample, sample_id, true_label, predicted_label, "
        "score, probabilities) VALUES (1, 'test', ?, ?, ?, ?, ?, ?)", predictions)
    db.execute(
        "INSERT INTO artifacts (run_id, kind, path, sha256, bytes, recorded_at) "
        "VALUES (1, 'model', ?, ?, 1395580, ?)",
        ("/shared/results/merge_bench/%s/model.pt" % cell, sha(cell), iso(finished)))
    db.executemany(
        "INSERT INTO run_plugins (run_id, kind, component, plugin, version, library, sha256) "
        "VALUES (1, ?, ?, ?, ?, ?, ?)",
        [(kind, component, plugin, version, LIB.format(kind=kind, plugin=plugin),
          sha(kind + plugin)) for kind, component, plugin, version in PLUGINS])
    db.execute("INSERT INTO experiment_runs (experiment_id, run_id, how) VALUES (1, 1, 'ran')")


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    template, cells_json, experiment_file, shards_dir = sys.argv[1:]
    cells = json.load(open(cells_json))
    yaml_text = open(experiment_file).read()
    os.makedirs(shards_dir, exist_ok=True)
    # The template as a rollback-journal database, so that each copy is written with the journal
    # off; each shard is switched back to WAL at the end (the mode a task's shard is in).
    plain = os.path.join(shards_dir, "..", "template-plain.db")
    shutil.copyfile(template, plain)
    db = sqlite3.connect(plain)
    db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    start = time.monotonic()
    for k, cell in enumerate(cells, start=1):
        if not cell.get("identity"):
            sys.exit("make_shards.py: cell %s has no identity: %s" % (cell["model"],
                                                                    cell.get("detail")))
        path = os.path.join(shards_dir, cell["model"] + ".db")
        shutil.copyfile(plain, path)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("BEGIN")
        fill(db, k, cell["model"], cell["identity"], yaml_text, os.path.abspath(experiment_file),
             random.Random(k))
        db.execute("COMMIT")
        db.execute("PRAGMA journal_mode = WAL")
        db.close()
    os.remove(plain)
    print("make_shards.py: %d shards in %s (%.1f s)" % (len(cells), shards_dir,
                                                        time.monotonic() - start))


if __name__ == "__main__":
    main()
