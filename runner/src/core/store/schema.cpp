#include "core/store/schema.h"

namespace tlr::store_detail {
namespace {

// Version 1: the initial schema. Timestamps are ISO-8601 UTC text ("2024-05-01T12:34:56.789Z")
// so they sort as text and read as dates in the sqlite3 shell; start times are column defaults.
// JSON columns are checked with json_valid so json_extract() always works on them. Child rows
// cascade with their run, so `DELETE FROM experiments WHERE name = ...` (with PRAGMA foreign_keys =
// ON) removes everything.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE experiments (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL,
  file        TEXT NOT NULL,
  yaml        TEXT NOT NULL,
  host        TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at TEXT,
  status      TEXT NOT NULL DEFAULT 'running'
              CHECK (status IN ('running', 'completed', 'failed', 'interrupted'))
);
CREATE INDEX experiments_by_name ON experiments (name);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  model         TEXT NOT NULL,
  strategy      TEXT NOT NULL,
  backbone      TEXT NOT NULL,
  config_json   TEXT NOT NULL CHECK (json_valid(config_json)),
  config_hash   TEXT NOT NULL,
  seed          INTEGER NOT NULL,
  status        TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
  error         TEXT,
  host          TEXT NOT NULL,
  pid           INTEGER NOT NULL,
  versions      TEXT NOT NULL CHECK (json_valid(versions)),
  threads       INTEGER NOT NULL,
  started_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  finished_at   TEXT,
  wall_seconds  REAL
);
CREATE INDEX runs_by_experiment ON runs (experiment_id);
CREATE INDEX runs_by_model ON runs (model);
CREATE INDEX runs_by_config_hash ON runs (config_hash);
CREATE INDEX runs_by_status ON runs (status);

-- One row per epoch of a training phase (a strategy may train in several phases, e.g. 'frozen'
-- then 'fine_tune', each counting epochs from 1). id gives the order the epochs ran in.
CREATE TABLE epochs (
  id                INTEGER PRIMARY KEY,
  run_id            INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  phase             TEXT NOT NULL,
  epoch             INTEGER NOT NULL,
  train_loss        REAL,
  train_acc         REAL,
  val_loss          REAL,
  val_acc           REAL,
  lr                REAL,
  seconds           REAL,
  images_per_second REAL,
  UNIQUE (run_id, phase, epoch)
);

-- Scalar results: split 'test' (accuracy, precision, recall, f1, loss, 'precision/<class>', ...),
-- 'val', 'model' (trainable_params, total_params), and whatever else a strategy measures.
CREATE TABLE metrics (
  run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  split  TEXT NOT NULL,
  name   TEXT NOT NULL,
  value  REAL,
  UNIQUE (run_id, split, name)
);

-- Every cell of a confusion matrix, zeros included, so the class list is recoverable.
CREATE TABLE confusion (
  run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  split           TEXT NOT NULL,
  true_label      INTEGER NOT NULL,
  predicted_label INTEGER NOT NULL,
  true_class      TEXT NOT NULL,
  predicted_class TEXT NOT NULL,
  count           INTEGER NOT NULL,
  UNIQUE (run_id, split, true_label, predicted_label)
);

CREATE TABLE artifacts (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind        TEXT NOT NULL,
  path        TEXT NOT NULL,
  sha256      TEXT NOT NULL,
  bytes       INTEGER NOT NULL,
  recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  UNIQUE (run_id, path)
);

-- The comparison table: one row per run. Metric columns are NULL when not measured.
CREATE VIEW run_summary AS
SELECT
  e.name AS experiment,
  r.experiment_id,
  r.id AS run_id,
  r.model,
  r.strategy,
  r.backbone,
  r.status,
  (SELECT MAX(val_acc) FROM epochs WHERE run_id = r.id) AS best_val_acc,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'accuracy')
    AS test_accuracy,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'precision')
    AS test_precision,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'recall')
    AS test_recall,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'f1') AS test_f1,
  (SELECT COUNT(*) FROM epochs WHERE run_id = r.id) AS epochs_run,
  r.wall_seconds,
  (SELECT AVG(images_per_second) FROM epochs WHERE run_id = r.id) AS mean_images_per_second,
  (SELECT CAST(value AS INTEGER) FROM metrics
    WHERE run_id = r.id AND split = 'model' AND name = 'trainable_params') AS trainable_params,
  r.error,
  r.seed,
  r.config_hash,
  r.started_at,
  r.finished_at
FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id;

-- The newest run of each model of each experiment (by name, across invocations): what a
-- comparison table shows after some models were re-run.
CREATE VIEW latest_runs AS
SELECT s.* FROM run_summary AS s
WHERE s.run_id = (SELECT MAX(r.id) FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id
                  WHERE e.name = s.experiment AND r.model = s.model);
)sql";

// v2: where a run ran and what built it. runs.device ("cpu", "cuda:0"; runs of v1 were all on
// the CPU) and run_plugins: the plugin library behind each component a run used, with the sha256
// of the .so file, so that a result can be traced to the code that produced it.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE runs ADD COLUMN device TEXT NOT NULL DEFAULT 'cpu';

CREATE TABLE run_plugins (
  run_id    INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  kind      TEXT NOT NULL,  -- dataset | augmenter | backbone | head | strategy
  component TEXT NOT NULL,  -- the component's name in the YAML (vgg, dense, fine_tune)
  plugin    TEXT NOT NULL,  -- the plugin's name (TLR_PLUGIN)
  version   TEXT NOT NULL,  -- the plugin's version
  library   TEXT NOT NULL,  -- absolute path of the .so file
  sha256    TEXT NOT NULL,  -- of the .so file when the run started
  PRIMARY KEY (run_id, kind)
);
)sql";

// v3: skipping, resuming and sharing cells between runner invocations.
// - runs.identity: the cell's identity, a sha256 hex the runner computes over everything that
//   decides the cell's result (resolved model, data, seed, weight files, plugin libraries); a
//   completed run with the same identity is reused instead of trained again, an interrupted one
//   resumed from its checkpoint. NULL for runs recorded before v3, which match nothing.
// - runs.resumes: how many times the run was resumed from a checkpoint (0: it ran in one go).
//   A resumed run keeps its id, started_at and artifacts; its epochs up to the checkpoint stay
//   and it records the rest, and its metrics and confusion matrices again.
// - experiment_runs: which runs an invocation of an experiment ran ('ran'), resumed from an
//   interrupted invocation ('resumed') or reused because an earlier invocation, maybe of another
//   experiment file, completed the same cell ('skipped'). runs.experiment_id stays the invocation
//   that began the run.
// - file_hashes: sha256 of large input files (weights) keyed by path, size and mtime, so a file is
//   hashed once rather than by every run that computes an identity. A cache: deleting rows is safe.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE runs ADD COLUMN identity TEXT;
ALTER TABLE runs ADD COLUMN resumes INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_by_identity ON runs (identity);

CREATE TABLE experiment_runs (
  experiment_id INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  run_id        INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  how           TEXT NOT NULL CHECK (how IN ('ran', 'resumed', 'skipped')),
  PRIMARY KEY (experiment_id, run_id)
);
CREATE INDEX experiment_runs_by_run ON experiment_runs (run_id);

CREATE TABLE file_hashes (
  path     TEXT PRIMARY KEY,  -- absolute, symbolic links resolved
  bytes    INTEGER NOT NULL,
  mtime_ns INTEGER NOT NULL,  -- nanoseconds since 1970-01-01 UTC
  sha256   TEXT NOT NULL
);
)sql";

// v4: replicates, per-sample predictions and the comparison statistics (docs/statistics.md).
// - runs.replicate: 0-based replicate index of the run's model (runs.seed is its derived seed).
// - experiments.compare_to: the model the invocation compares every model with (its baseline).
// - predictions: every evaluated image of a run: test at the end, val at the best-validation
//   weights of the run's last fit. `sample` is the image's position in the split (the order of
//   the split lists the run wrote); the test samples of the models of one experiment are the same
//   images in the same order, so predictions join on (split, sample) across runs. `probabilities`
//   is a JSON array, one per class (a sigmoid output p gives [1 - p, p]); `score` is the
//   predicted class's.
// - model_statistics and mcnemar_tests: what the runner computed from predictions at the end of
//   the invocation; every number is recomputable from predictions and metrics in SQL or Python.
// - run_summary and latest_runs gain the replicate; latest_runs keeps the newest run of each
//   (model, replicate).
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE runs ADD COLUMN replicate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE experiments ADD COLUMN compare_to TEXT;

CREATE TABLE predictions (
  run_id          INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  split           TEXT NOT NULL,
  sample          INTEGER NOT NULL,
  sample_id       TEXT NOT NULL,
  true_label      INTEGER NOT NULL,
  predicted_label INTEGER NOT NULL,
  score           REAL NOT NULL,
  probabilities   TEXT NOT NULL CHECK (json_valid(probabilities)),
  PRIMARY KEY (run_id, split, sample)
) WITHOUT ROWID;

CREATE TABLE model_statistics (
  experiment_id     INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  model             TEXT NOT NULL,
  replicates        INTEGER NOT NULL,  -- completed runs with predictions
  accuracy_mean     REAL,
  accuracy_sd       REAL,              -- NULL for one replicate
  accuracy_low      REAL,              -- 95% interval
  accuracy_high     REAL,
  accuracy_interval TEXT NOT NULL,     -- 't' over replicates, 'wilson' over test images
  f1_mean           REAL,
  f1_sd             REAL,
  f1_low            REAL,
  f1_high           REAL,
  is_baseline       INTEGER NOT NULL,
  baseline          TEXT,              -- NULL: not compared (see note)
  pairs             INTEGER,
  difference        REAL,              -- mean paired accuracy difference, model - baseline
  difference_low    REAL,
  difference_high   REAL,
  test              TEXT,              -- 'paired_t' | 'mcnemar_exact'
  statistic         REAL,
  df                REAL,
  p                 REAL,
  p_holm            REAL,
  verdict           TEXT,              -- better | worse | no detectable difference | baseline
  note              TEXT,
  PRIMARY KEY (experiment_id, model)
);

CREATE TABLE mcnemar_tests (
  experiment_id   INTEGER NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  model           TEXT NOT NULL,
  baseline        TEXT NOT NULL,
  replicate       INTEGER NOT NULL,
  run_id          INTEGER NOT NULL,
  baseline_run_id INTEGER NOT NULL,
  n               INTEGER NOT NULL,  -- test images
  model_only      INTEGER NOT NULL,  -- b: the model right, the baseline wrong
  baseline_only   INTEGER NOT NULL,  -- c: the baseline right, the model wrong
  p               REAL NOT NULL,     -- exact two-sided
  PRIMARY KEY (experiment_id, model, replicate)
);

DROP VIEW latest_runs;
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
  e.name AS experiment,
  r.experiment_id,
  r.id AS run_id,
  r.model,
  r.strategy,
  r.backbone,
  r.status,
  (SELECT MAX(val_acc) FROM epochs WHERE run_id = r.id) AS best_val_acc,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'accuracy')
    AS test_accuracy,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'precision')
    AS test_precision,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'recall')
    AS test_recall,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'f1') AS test_f1,
  (SELECT COUNT(*) FROM epochs WHERE run_id = r.id) AS epochs_run,
  r.wall_seconds,
  (SELECT AVG(images_per_second) FROM epochs WHERE run_id = r.id) AS mean_images_per_second,
  (SELECT CAST(value AS INTEGER) FROM metrics
    WHERE run_id = r.id AND split = 'model' AND name = 'trainable_params') AS trainable_params,
  r.error,
  r.seed,
  r.config_hash,
  r.started_at,
  r.finished_at,
  r.replicate
FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id;

CREATE VIEW latest_runs AS
SELECT s.* FROM run_summary AS s
WHERE s.run_id = (SELECT MAX(r.id) FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id
                  WHERE e.name = s.experiment AND r.model = s.model
                    AND r.replicate = s.replicate);
)sql";

// v5: the arithmetic a run computed in. runs.compute_precision: 'fp32' or 'bf16' (training.
// precision resolved on the machine that ran it: `auto` is recorded as what it chose); runs of
// earlier schemas were all fp32. run_summary and latest_runs gain the device and the precision.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE runs ADD COLUMN compute_precision TEXT NOT NULL DEFAULT 'fp32'
  CHECK (compute_precision IN ('fp32', 'bf16'));

DROP VIEW latest_runs;
DROP VIEW run_summary;
CREATE VIEW run_summary AS
SELECT
  e.name AS experiment,
  r.experiment_id,
  r.id AS run_id,
  r.model,
  r.strategy,
  r.backbone,
  r.status,
  (SELECT MAX(val_acc) FROM epochs WHERE run_id = r.id) AS best_val_acc,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'accuracy')
    AS test_accuracy,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'precision')
    AS test_precision,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'recall')
    AS test_recall,
  (SELECT value FROM metrics WHERE run_id = r.id AND split = 'test' AND name = 'f1') AS test_f1,
  (SELECT COUNT(*) FROM epochs WHERE run_id = r.id) AS epochs_run,
  r.wall_seconds,
  (SELECT AVG(images_per_second) FROM epochs WHERE run_id = r.id) AS mean_images_per_second,
  (SELECT CAST(value AS INTEGER) FROM metrics
    WHERE run_id = r.id AND split = 'model' AND name = 'trainable_params') AS trainable_params,
  r.error,
  r.seed,
  r.config_hash,
  r.started_at,
  r.finished_at,
  r.replicate,
  r.device,
  r.compute_precision
FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id;

CREATE VIEW latest_runs AS
SELECT s.* FROM run_summary AS s
WHERE s.run_id = (SELECT MAX(r.id) FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id
                  WHERE e.name = s.experiment AND r.model = s.model
                    AND r.replicate = s.replicate);
)sql";

// v6: evaluations of a trained model on other labelled data (`runner evaluate`), each with its
// metrics (the names of a run's test metrics) and confusion matrix. An evaluation belongs to its
// run and goes with it.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE evaluations (
  id                  INTEGER PRIMARY KEY,
  run_id              INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  data                TEXT NOT NULL,     -- the folder evaluated, as given
  dataset             TEXT NOT NULL,     -- dataset plugin
  dataset_fingerprint TEXT NOT NULL,
  samples             INTEGER NOT NULL,  -- images evaluated
  skipped_images      INTEGER NOT NULL,  -- images that could not be read
  compute_precision   TEXT NOT NULL CHECK (compute_precision IN ('fp32', 'bf16')),
  device              TEXT NOT NULL,
  threads             INTEGER NOT NULL,
  host                TEXT NOT NULL,
  pid                 INTEGER NOT NULL,
  created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX evaluations_by_run ON evaluations (run_id);

CREATE TABLE evaluation_metrics (
  evaluation_id INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  value         REAL,
  PRIMARY KEY (evaluation_id, name)
) WITHOUT ROWID;

CREATE TABLE evaluation_confusion (
  evaluation_id   INTEGER NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
  true_label      INTEGER NOT NULL,
  predicted_label INTEGER NOT NULL,
  true_class      TEXT NOT NULL,
  predicted_class TEXT NOT NULL,
  count           INTEGER NOT NULL,
  PRIMARY KEY (evaluation_id, true_label, predicted_label)
) WITHOUT ROWID;
)sql";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> steps = {
      {1, kSchemaV1}, {2, kSchemaV2}, {3, kSchemaV3},
      {4, kSchemaV4}, {5, kSchemaV5}, {6, kSchemaV6},
  };
  return steps;
}

int latest_schema_version() { return migrations().back().version; }

}  // namespace tlr::store_detail
