// The run store: every experiment, run, epoch, metric, confusion matrix and artifact the runner
// produces, in one SQLite file (results/results.db). The schema is a public interface (users
// query it with sqlite3; see core/store/schema.cpp for the tables and the run_summary and
// latest_runs views).
//
// Contract:
// - open() creates parent directories, turns on WAL (readers never block the writer, so a report
//   or a sqlite3 shell can watch a run in progress), a 30 s busy timeout and foreign keys, migrates
//   the schema by PRAGMA user_version, then marks runs of dead processes 'interrupted'.
// - Every write is one BEGIN IMMEDIATE transaction; a run is 'running' until finish_run() sets its
//   final status and final metrics together, so the database never shows a half-finished run as
//   finished.
// - Several processes may write the file at once (parallel cells, runners a user starts side by
//   side) and no write is lost: a transaction that finds the file locked waits (busy timeout) and
//   is retried whole after a short random backoff, for up to 120 s in all; then the method throws
//   "<db path>: error: <what>: database is locked; gave up after 120 s". open() is safe when
//   several processes open (and so create and migrate) a fresh file at the same moment.
// - Every method throws tlr::Error with a one-line message "<db path>: error: ..." on failure.
// - One Store is one connection: use it from one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/stats/comparison.h"

struct sqlite3;

namespace tlr {

struct MergeOutcome;
class Store;
MergeOutcome merge_shards(Store& into, const std::vector<std::string>& shard_paths);

enum class RunStatus { kRunning, kCompleted, kFailed, kInterrupted };

// "running", "completed", "failed", "interrupted": the strings stored in the status columns.
const char* to_string(RunStatus status);
// Throws tlr::Error for an unknown string.
RunStatus run_status_from_string(const std::string& text);

// A component a run uses and the plugin library it came from (table run_plugins).
struct PluginUse {
  std::string kind;       // "dataset", "augmenter", "backbone", "head", "strategy"
  std::string component;  // its name in the YAML
  std::string plugin, version, library, sha256;
};

// What begin_run() records about a run before it starts. The store adds host, pid and the start
// time itself.
struct RunStart {
  std::int64_t experiment_id = 0;
  std::string model;        // the model's name in the experiment ("cnn_aug", "vgg@500")
  std::string strategy;     // strategy plugin name
  std::string backbone;     // backbone plugin name
  std::string config_json;  // the resolved model as JSON; must be valid JSON
  std::string config_hash;  // sha256 of its canonical JSON
  std::int64_t seed = 0;
  int replicate = 0;               // 0-based replicate index (runs.replicate)
  int threads = 0;                 // torch intra-op threads the run uses
  std::string versions_json;       // empty: build_versions_json()
  std::string device = "cpu";      // torch::Device::str() of the device the run uses
  std::string precision = "fp32";  // runs.compute_precision: "fp32" | "bf16" (resolved)
  std::vector<PluginUse> plugins;  // recorded with the run, in the same transaction
  // The cell identity (runs.identity): sha256 hex of everything that decides the run's result,
  // computed by the caller; completed_run() and resumable_run() look runs up by it. "" is stored
  // as NULL: a run no later invocation can reuse.
  std::string identity;
};

// One epoch of one training phase. Optional values are NULL in the database (a value the trainer
// did not measure).
struct EpochRow {
  std::string phase;  // "train" (one phase), or the strategy's phase names: fine_tune's "warmup"
                      // then "fine-tune"; epochs count from 1 per phase
  int epoch = 0;
  std::optional<double> train_loss, train_acc, val_loss, val_acc;
  std::optional<double> lr, seconds, images_per_second;
};

struct Metric {
  std::string split;  // "test", "val", "model", ...
  std::string name;   // "accuracy", "f1", "precision/<class>", "trainable_params", ...
  double value = 0;
};

// A row of the run_summary / latest_runs views.
struct RunSummary {
  std::string experiment;
  std::int64_t experiment_id = 0;
  std::int64_t run_id = 0;
  std::string model, strategy, backbone;
  RunStatus status = RunStatus::kRunning;
  std::optional<double> best_val_acc;
  std::optional<double> test_accuracy, test_precision, test_recall, test_f1;
  std::int64_t epochs_run = 0;
  std::optional<double> wall_seconds;
  std::optional<double> mean_images_per_second;
  std::optional<std::int64_t> trainable_params;
  std::string error;  // "" unless failed or interrupted
  std::int64_t seed = 0;
  int replicate = 0;  // 0-based (runs.replicate)
  std::string config_hash;
  std::string started_at, finished_at;  // ISO-8601 UTC; finished_at "" while running
  std::string identity;                 // runs.identity; "" for NULL
  std::string device = "cpu";           // runs.device
  std::string precision = "fp32";       // runs.compute_precision
};

// Where the newest run of a cell stands (`runner status`).
struct CellState {
  std::int64_t run_id = 0;
  RunStatus status = RunStatus::kRunning;
  std::int64_t pid = 0;  // of the process that ran it last (began or resumed it)
  std::string host;
  std::string error;        // "" for none
  int epochs_recorded = 0;  // epoch rows, all phases
  std::string last_phase;   // of the last epoch row recorded; "" and 0 when there is none
  int last_epoch = 0;
};

// A confusion matrix: counts[true_label][predicted_label], labels index `classes`.
struct ConfusionMatrix {
  std::vector<std::string> classes;
  std::vector<std::vector<std::int64_t>> counts;
};

// One image's prediction (table predictions). `sample` is its position in the split (the order
// of the split lists and of the evaluation), `sample_id` the dataset's id of the image.
struct Prediction {
  std::int64_t sample = 0;
  std::string sample_id;
  std::int64_t true_label = 0;
  std::int64_t predicted_label = 0;
  std::vector<float> probabilities;  // per class (sigmoid: {1 - p, p}); predicted's is the score
};

struct Artifact {
  std::string kind, path, sha256;
  std::int64_t bytes = 0;
};

// The file's sha256 and size as an Artifact row, read now (before any write lock is taken).
// Throws "<path>: error: cannot read file" when it cannot be read.
Artifact describe_artifact(const std::string& kind, const std::string& path);

// What a run produced, recorded by complete_run() together with the status 'completed', in one
// transaction: a run killed or failed before that has none of it, so no report can show a test
// accuracy of a run that did not finish. Epoch rows are not here: they are progress, recorded as
// they happen.
struct RunResults {
  std::vector<Metric> metrics;  // in order; a later (split, name) replaces an earlier one
  std::map<std::string, ConfusionMatrix> confusion;            // by split
  std::map<std::string, std::vector<Prediction>> predictions;  // by split
  std::vector<Artifact> artifacts;  // from describe_artifact(); a later path replaces an earlier
};

// One `runner evaluate` of a run's model (tables evaluations, evaluation_metrics,
// evaluation_confusion).
struct EvaluationRecord {
  std::int64_t run_id = 0;
  std::string data, dataset, dataset_fingerprint;
  std::int64_t samples = 0, skipped_images = 0;
  std::string precision = "fp32", device = "cpu";
  int threads = 1;
  std::vector<std::pair<std::string, double>> metrics;
  ConfusionMatrix confusion;
};

// {"tlr": ..., "libtorch": ..., "opencv": ..., "sdk_abi": ...} of this build.
std::string build_versions_json();

class Store {
 public:
  // Opens (creating if needed) the database at `path`. Throws tlr::Error:
  //   "<path>: error: results database schema version N is newer than this runner (M); upgrade tlr"
  //   "<path>: error: cannot open results database: <reason>" for an unreadable or corrupt file.
  static Store open(const std::string& path);
  // Opens a database for the reading commands (report, status, predict, export): open() when
  // the file and its folder are writable, else (a read-only filesystem, another user's results)
  // open_immutable(): a snapshot, so a report can be read from a read-only copy. Throws like them.
  static Store open_for_reading(const std::string& path);
  // Opens a database for queries only, as a file no process changes while it is open (SQLite's
  // immutable=1): read-only, no locks, no shared-memory or WAL file, nothing migrated or marked.
  // For a Slurm task's shard in the shards folder (a newer one replaces it by rename, never in
  // place), which tasks on many nodes may read on a network filesystem, where SQLite's locking
  // cannot be trusted. Throws like open(), and "<path>: error: results database schema version N
  // is not this runner's (M); runner merge migrates it" for another version.
  static Store open_immutable(const std::string& path);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  ~Store();

  const std::string& path() const { return path_; }
  // PRAGMA user_version of the open database (after migration: the latest).
  int schema_version() const;
  static int latest_schema_version();

  // --- writes ---
  // A new invocation of an experiment; status 'running'. `file` is the YAML's path, `yaml` its
  // text as read (before --set overrides).
  std::int64_t begin_experiment(const std::string& name, const std::string& file,
                                const std::string& yaml);
  // Sets the final status (not kRunning) and finished_at.
  void finish_experiment(std::int64_t experiment_id, RunStatus status);

  // Inserts a run in status 'running' with its plugin rows, in one transaction, and returns its id.
  std::int64_t begin_run(const RunStart& run);
  // One transaction per epoch. The same (phase, epoch) twice for a run is an error (UNIQUE).
  void record_epoch(std::int64_t run_id, const EpochRow& row);
  // Inserts or replaces (last write wins) the named values of one split.
  void record_metrics(std::int64_t run_id, const std::string& split,
                      const std::vector<std::pair<std::string, double>>& values);
  // Replaces the run's matrix for `split`. `counts` must be square with classes.size() rows.
  void record_confusion(std::int64_t run_id, const std::string& split,
                        const std::vector<std::string>& classes,
                        const std::vector<std::vector<std::int64_t>>& counts);
  // Replaces the run's predictions for `split` ("test", "val") in one transaction.
  void record_predictions(std::int64_t run_id, const std::string& split,
                          const std::vector<Prediction>& rows);
  // Records an evaluation with its metrics and confusion matrix in one transaction; returns its id.
  std::int64_t record_evaluation(const EvaluationRecord& evaluation);
  // Records the baseline an invocation compares its models with (experiments.compare_to).
  void set_compare_to(std::int64_t experiment_id, const std::string& model);
  // Replaces the invocation's rows of model_statistics and mcnemar_tests, in one transaction.
  void record_statistics(std::int64_t experiment_id,
                         const std::vector<stats::ModelStatistics>& statistics);
  // Records a file the run produced with its sha256 and size; `path` is stored as given. Recording
  // the same path again (a checkpoint rewritten) updates the row. Throws if the file is unreadable.
  void record_artifact(std::int64_t run_id, const std::string& kind, const std::string& path);
  // Final status (not kRunning), error text ("" for none), finished_at, wall_seconds and the final
  // metrics, in one transaction. Throws if the run is not 'running' (finished twice, or marked
  // interrupted meanwhile).
  void finish_run(std::int64_t run_id, RunStatus status, const std::string& error,
                  const std::vector<Metric>& metrics = {});
  // Status 'completed', finished_at, wall_seconds and everything in `results`, in one transaction
  // (the runner's way to finish a run that succeeded). Throws like finish_run(), and for a
  // confusion matrix that is not square.
  void complete_run(std::int64_t run_id, const RunResults& results);

  // Marks 'running' runs and experiments recorded on this host by a process that no longer
  // exists as 'interrupted' (the runner was killed). open() calls it; returns the number of runs.
  // A row another process finished, marked or resumed since it was found dead is left alone.
  int mark_stale_runs();
  // Marks every 'running' run and experiment 'interrupted' (runs with `reason` as their error),
  // whatever process or host recorded them: for a database only one process ever uses at a time
  // (a Slurm task's shard), where 'running' can only mean an earlier process died. Returns the
  // number of runs marked.
  int interrupt_running_runs(const std::string& reason);

  // Takes an 'interrupted' run over to resume it from its checkpoint, in one transaction: status
  // 'running' with this process's pid and host, error and finished_at NULL, resumes + 1; its first
  // `keep_epochs` epoch rows in recording order stay (those the checkpoint covers) and the rest
  // are deleted, as are its metrics and confusion matrices (the resumed run records them again);
  // artifacts and plugin rows stay. started_at stays too, so wall_seconds at finish_run() spans
  // the time the run was down. Throws "<db>: error: cannot resume run N: it is <status>" unless
  // the run is 'interrupted' (so of two processes resuming the same run, one wins and the other
  // throws), "...: no such run", or for a negative keep_epochs.
  void resume_run(std::int64_t run_id, int keep_epochs);

  // Records that the invocation `experiment_id` ran, resumed or reused ('skipped') the run; `how`
  // is "ran", "resumed" or "skipped". Linking the same pair again replaces `how`. begin_run()
  // does not link: the caller links every run it uses, the ones it began too.
  void link_run(std::int64_t experiment_id, std::int64_t run_id, const std::string& how);

  // The sha256 hex of the file's contents, from the file_hashes cache when its size and mtime
  // (ns) are those cached for the file's absolute, symlink-resolved path; else the file is hashed
  // and the cache updated. A file modified less than 2 s before hashing is not cached: a change
  // within the same mtime tick and size would go unseen. Throws "<path>: error: cannot read file"
  // when the file cannot be read.
  std::string file_sha256(const std::string& path);

  // --- queries (for the report) ---
  // Name of the most recently begun experiment; nullopt for an empty database.
  std::optional<std::string> latest_experiment() const;
  // latest_runs rows of an experiment ("" = latest_experiment()), in the order they ran.
  std::vector<RunSummary> summaries(const std::string& experiment = "") const;
  // The run_summary row of one run; throws if there is no such run.
  RunSummary summary(std::int64_t run_id) const;
  // The run's epochs in the order they were recorded.
  std::vector<EpochRow> epochs(std::int64_t run_id) const;
  // The run's values of one split, sorted by name. A NaN recorded is stored as NULL and read
  // back as NaN.
  std::vector<std::pair<std::string, double>> metrics(std::int64_t run_id,
                                                      const std::string& split) const;
  // nullopt when none was recorded.
  std::optional<ConfusionMatrix> confusion(std::int64_t run_id,
                                           const std::string& split = "test") const;
  std::vector<Artifact> artifacts(std::int64_t run_id) const;
  // The evaluation's metrics, sorted by name; throws "...: no such evaluation".
  std::vector<std::pair<std::string, double>> evaluation_metrics(std::int64_t evaluation_id) const;
  // The run's predictions for `split`, by sample; empty when none were recorded.
  std::vector<Prediction> predictions(std::int64_t run_id, const std::string& split) const;
  // The newest invocation of the named experiment; nullopt when it never ran.
  std::optional<std::int64_t> latest_invocation(const std::string& experiment) const;
  // experiments.compare_to of an invocation ("" when not set).
  std::string compare_to(std::int64_t experiment_id) const;
  // The run's plugin libraries, by kind.
  std::vector<PluginUse> plugins(std::int64_t run_id) const;
  // The newest completed run that recorded an artifact of `kind` at `path`; nullopt when none did.
  std::optional<std::int64_t> run_with_artifact(const std::string& kind,
                                                const std::string& path) const;

  // The newest 'completed' run of `model` in any invocation of the experiment named `experiment`;
  // nullopt when there is none.
  std::optional<std::int64_t> latest_completed_run(const std::string& experiment,
                                                   const std::string& model) const;
  // The run's resolved config (runs.config_json) and the YAML file of the invocation that began
  // it (experiments.file). Throws "...: no such run".
  std::pair<std::string, std::string> run_config_and_file(std::int64_t run_id) const;

  // The newest 'completed' run with this identity: the cell needs no training. nullopt when
  // there is none (always for "").
  std::optional<std::int64_t> completed_run(const std::string& identity) const;
  // The newest 'interrupted' run with this identity unless a newer run of it completed: the run
  // to resume. Failed and running runs are neither reused nor resumed (a running one belongs to a
  // live process; the caller decides by cell_state()).
  std::optional<std::int64_t> resumable_run(const std::string& identity) const;
  // The newest run with this identity, whatever its status; nullopt when there is none.
  std::optional<CellState> cell_state(const std::string& identity) const;
  // The run_summary rows of these runs, in this order. Throws "...: no such run" for an unknown id.
  std::vector<RunSummary> summaries_of(const std::vector<std::int64_t>& run_ids) const;
  // (model, run id) of every run the invocation linked (link_run), in the order they were linked
  // (linking a run again moves it last). What a parent runner reports after its workers, which
  // link to its experiment id, are done.
  std::vector<std::pair<std::string, std::int64_t>> linked_runs(std::int64_t experiment_id) const;

 private:
  friend MergeOutcome merge_shards(Store& into, const std::vector<std::string>& shard_paths);
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  Store(std::string path, std::unique_ptr<sqlite3, Closer> db);
  void configure_and_migrate();
  void finish_run_with(std::int64_t run_id, RunStatus status, const std::string& error,
                       const RunResults& results);

  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

}  // namespace tlr
