#include "core/store/store.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <torch/version.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <opencv2/core/version.hpp>
#include <system_error>

#include "core/store/schema.h"
#include "core/store/sqlite.h"
#include "engine/util/sha256.h"
#include "tlr/abi.h"
#include "tlr/error.h"

namespace tlr {

using store_detail::exec;
using store_detail::fail;
using store_detail::retry_busy;
using store_detail::Statement;
using store_detail::write_transaction;

namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// kill(pid, 0) checks existence without sending anything; EPERM means it exists but belongs to
// another user.
bool process_alive(std::int64_t pid) {
  if (pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

int read_user_version(sqlite3* db, const std::string& path, const std::string& what) {
  Statement version(db, path, "PRAGMA user_version", what);
  version.step();
  return static_cast<int>(version.int64(0));
}

// Columns of run_summary (or latest_runs) AS s, and the run's identity from runs by primary key
// (the views predate the column).
constexpr const char* kSummaryColumns =
    "s.experiment, s.experiment_id, s.run_id, s.model, s.strategy, s.backbone, s.status, "
    "s.best_val_acc, s.test_accuracy, s.test_precision, s.test_recall, s.test_f1, s.epochs_run, "
    "s.wall_seconds, s.mean_images_per_second, s.trainable_params, s.error, s.seed, "
    "s.config_hash, s.started_at, s.finished_at, "
    "(SELECT r.identity FROM runs AS r WHERE r.id = s.run_id), s.replicate, s.device, "
    "s.compute_precision";

RunSummary read_summary(const Statement& row) {
  RunSummary s;
  s.experiment = row.text(0);
  s.experiment_id = row.int64(1);
  s.run_id = row.int64(2);
  s.model = row.text(3);
  s.strategy = row.text(4);
  s.backbone = row.text(5);
  s.status = run_status_from_string(row.text(6));
  s.best_val_acc = row.optional_real(7);
  s.test_accuracy = row.optional_real(8);
  s.test_precision = row.optional_real(9);
  s.test_recall = row.optional_real(10);
  s.test_f1 = row.optional_real(11);
  s.epochs_run = row.int64(12);
  s.wall_seconds = row.optional_real(13);
  s.mean_images_per_second = row.optional_real(14);
  s.trainable_params = row.optional_int64(15);
  s.error = row.text(16);
  s.seed = row.int64(17);
  s.config_hash = row.text(18);
  s.started_at = row.text(19);
  s.finished_at = row.text(20);
  s.identity = row.text(21);
  s.replicate = static_cast<int>(row.int64(22));
  s.device = row.text(23);
  s.precision = row.text(24);
  return s;
}

// Size and modification time (ns since the epoch) of the file `path` names, symlinks followed.
struct FileStamp {
  std::int64_t bytes = 0, mtime_ns = 0;
  bool operator==(const FileStamp& other) const {
    return bytes == other.bytes && mtime_ns == other.mtime_ns;
  }
};

std::optional<FileStamp> stamp_of(const std::string& path) {
  struct stat info {};
  if (stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  return FileStamp{static_cast<std::int64_t>(info.st_size),
                   static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 +
                       static_cast<std::int64_t>(info.st_mtim.tv_nsec)};
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

RunStatus run_status_from_string(const std::string& text) {
  for (RunStatus s :
       {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kFailed, RunStatus::kInterrupted}) {
    if (text == to_string(s)) return s;
  }
  throw Error("error: unknown run status '" + text + "'");
}

std::string build_versions_json() {
  const nlohmann::json versions = {{"tlr", TLR_VERSION},
                                   {"libtorch", TORCH_VERSION},
                                   {"opencv", CV_VERSION},
                                   {"sdk_abi", TLR_ABI_VERSION}};
  return versions.dump();
}

void Store::Closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

Store::Store(std::string path, std::unique_ptr<sqlite3, Closer> db)
    : path_(std::move(path)), db_(std::move(db)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const std::string& path) {
  const bool on_disk = path != ":memory:" && path.rfind("file:", 0) != 0;
  if (on_disk) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      // SQLite's own words for it are "unable to open database file".
      throw Error(path +
                  ": error: cannot open results database: it is a folder; give --db a file "
                  "(--results DIR alone keeps it in DIR/results.db)");
    }
    const auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw Error(path + ": error: cannot create directory " + parent.string() + ": " +
                  ec.message());
    }
  }
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  std::unique_ptr<sqlite3, Closer> db(raw);
  if (rc != SQLITE_OK) fail(db.get(), path, "cannot open results database");
  Store store(path, std::move(db));
  store.configure_and_migrate();
  store.mark_stale_runs();
  return store;
}

Store Store::open_for_reading(const std::string& path) {
  // WAL readers need the -shm file next to the database, which a read-only folder cannot hold.
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return open(path);  // creates it, as before
  const std::string folder = std::filesystem::path(path).parent_path().string();
  const bool writable = ::access(path.c_str(), W_OK) == 0 &&
                        ::access(folder.empty() ? "." : folder.c_str(), W_OK) == 0;
  return writable ? open(path) : open_immutable(path);
}

Store Store::open_immutable(const std::string& path) {
  // A URI, so its path is percent-encoded where URI syntax would read it otherwise ('#' is in
  // every replicate's shard name).
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static const char* kHex = "0123456789abcdef";
      uri += '%';
      uri += kHex[(static_cast<unsigned char>(c) >> 4) & 0xf];
      uri += kHex[static_cast<unsigned char>(c) & 0xf];
    } else {
      uri += c;
    }
  }
  uri += "?immutable=1";
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(
      uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<sqlite3, Closer> db(raw);
  if (rc != SQLITE_OK) fail(db.get(), path, "cannot open results database");
  Store store(path, std::move(db));
  const int found = read_user_version(store.db_.get(), path, "cannot open results database");
  if (found != latest_schema_version()) {
    throw Error(path + ": error: results database schema version " + std::to_string(found) +
                " is not this runner's (" + std::to_string(latest_schema_version()) +
                "); runner merge migrates it");
  }
  return store;
}

namespace {

[[noreturn]] void refuse_newer(const std::string& path, int found) {
  throw Error(path + ": error: results database schema version " + std::to_string(found) +
              " is newer than this runner (" +
              std::to_string(store_detail::latest_schema_version()) + "); upgrade tlr");
}

}  // namespace

void Store::configure_and_migrate() {
  sqlite3* db = db_.get();
  const std::string open_error = "cannot open results database";
  const int latest = latest_schema_version();
  // Several processes may open a fresh file at the same moment (parallel cells): each step below
  // may find the file locked by another one's, and is retried whole.
  int found = 0;
  retry_busy(db, path_, open_error, [&] {
    // The first read of the file: a corrupt or foreign file fails here ("file is not a database").
    found = read_user_version(db, path_, open_error);
    if (found > latest) refuse_newer(path_, found);
    // Switching to WAL takes an exclusive lock once per file; later it is a no-op.
    Statement wal(db, path_, "PRAGMA journal_mode = WAL", open_error);
    wal.step();
  });
  // NORMAL is durable across application crashes in WAL mode; only a power loss may drop the
  // last transactions, which costs at most an epoch row.
  exec(db, path_, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", open_error);
  // A version only grows, so an up-to-date file needs no write lock (a report opening the file
  // while runners write does not queue behind them).
  if (found == latest) return;

  const std::string what =
      "cannot migrate results database to schema version " + std::to_string(latest);
  write_transaction(db, path_, what, [&] {
    // Re-read under the write lock: another process may have migrated since the read above.
    const int current = read_user_version(db, path_, what);
    if (current > latest) refuse_newer(path_, current);
    // All steps in one transaction: a file is at its old version or the latest, never between.
    for (const auto& step : store_detail::migrations()) {
      if (step.version <= current) continue;
      exec(db, path_, step.sql, what);
      exec(db, path_, ("PRAGMA user_version = " + std::to_string(step.version)).c_str(), what);
    }
  });
}

int Store::schema_version() const {
  return read_user_version(db_.get(), path_, "cannot read schema version");
}

int Store::latest_schema_version() { return store_detail::latest_schema_version(); }

std::int64_t Store::begin_experiment(const std::string& name, const std::string& file,
                                     const std::string& yaml) {
  const std::string what = "cannot record experiment '" + name + "'";
  std::int64_t id = 0;
  write_transaction(db_.get(), path_, what, [&] {
    Statement insert(db_.get(), path_,
                     "INSERT INTO experiments (name, file, yaml, host, pid) VALUES (?, ?, ?, ?, ?)",
                     what);
    insert.bind(1, name).bind(2, file).bind(3, yaml).bind(4, host_name());
    insert.bind(5, static_cast<std::int64_t>(getpid()));
    insert.run();
    id = sqlite3_last_insert_rowid(db_.get());
  });
  return id;
}

void Store::finish_experiment(std::int64_t experiment_id, RunStatus status) {
  const std::string what = "cannot finish experiment " + std::to_string(experiment_id);
  if (status == RunStatus::kRunning) {
    throw Error(path_ + ": error: " + what + ": a final status cannot be 'running'");
  }
  write_transaction(db_.get(), path_, what, [&] {
    Statement update(db_.get(), path_,
                     "UPDATE experiments SET status = ?, "
                     "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                     what);
    update.bind(1, to_string(status)).bind(2, experiment_id);
    update.run();
    if (sqlite3_changes(db_.get()) == 0) {
      throw Error(path_ + ": error: " + what + ": no such experiment");
    }
  });
}

std::int64_t Store::begin_run(const RunStart& run) {
  const std::string what = "cannot record run of model '" + run.model + "'";
  const std::string versions =
      run.versions_json.empty() ? build_versions_json() : run.versions_json;
  std::int64_t id = 0;
  write_transaction(db_.get(), path_, what, [&] {
    Statement insert(
        db_.get(), path_,
        "INSERT INTO runs (experiment_id, model, strategy, backbone, config_json, "
        "config_hash, seed, host, pid, versions, threads, device, identity, replicate, "
        "compute_precision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''), ?, ?)",
        what);
    insert.bind(1, run.experiment_id).bind(2, run.model).bind(3, run.strategy);
    insert.bind(4, run.backbone).bind(5, run.config_json).bind(6, run.config_hash);
    insert.bind(7, run.seed).bind(8, host_name()).bind(9, static_cast<std::int64_t>(getpid()));
    insert.bind(10, versions).bind(11, run.threads).bind(12, run.device).bind(13, run.identity);
    insert.bind(14, run.replicate).bind(15, run.precision);
    insert.run();
    id = sqlite3_last_insert_rowid(db_.get());
    Statement plugin(db_.get(), path_,
                     "INSERT INTO run_plugins (run_id, kind, component, plugin, version, library, "
                     "sha256) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     what);
    for (const PluginUse& use : run.plugins) {
      plugin.bind(1, id).bind(2, use.kind).bind(3, use.component).bind(4, use.plugin);
      plugin.bind(5, use.version).bind(6, use.library).bind(7, use.sha256);
      plugin.run();
    }
  });
  return id;
}

void Store::record_epoch(std::int64_t run_id, const EpochRow& row) {
  const std::string what = "cannot record " + row.phase + " epoch " + std::to_string(row.epoch) +
                           " of run " + std::to_string(run_id);
  write_transaction(db_.get(), path_, what, [&] {
    Statement insert(
        db_.get(), path_,
        "INSERT INTO epochs (run_id, phase, epoch, train_loss, train_acc, val_loss, "
        "val_acc, lr, seconds, images_per_second) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        what);
    insert.bind(1, run_id).bind(2, row.phase).bind(3, row.epoch).bind(4, row.train_loss);
    insert.bind(5, row.train_acc).bind(6, row.val_loss).bind(7, row.val_acc).bind(8, row.lr);
    insert.bind(9, row.seconds).bind(10, row.images_per_second);
    insert.run();
  });
}

namespace {

constexpr const char* kUpsertMetric =
    "INSERT INTO metrics (run_id, split, name, value) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (run_id, split, name) DO UPDATE SET value = excluded.value";

}  // namespace

void Store::record_metrics(std::int64_t run_id, const std::string& split,
                           const std::vector<std::pair<std::string, double>>& values) {
  const std::string what = "cannot record " + split + " metrics of run " + std::to_string(run_id);
  write_transaction(db_.get(), path_, what, [&] {
    Statement upsert(db_.get(), path_, kUpsertMetric, what);
    for (const auto& [name, value] : values) {
      upsert.bind(1, run_id).bind(2, split).bind(3, name).bind(4, value);
      upsert.run();
    }
  });
}

std::int64_t Store::record_evaluation(const EvaluationRecord& evaluation) {
  const std::string what =
      "cannot record an evaluation of run " + std::to_string(evaluation.run_id);
  const std::size_t n = evaluation.confusion.classes.size();
  std::int64_t id = 0;
  write_transaction(db_.get(), path_, what, [&] {
    Statement insert(
        db_.get(), path_,
        "INSERT INTO evaluations (run_id, data, dataset, dataset_fingerprint, samples, "
        "skipped_images, compute_precision, device, threads, host, pid) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        what);
    insert.bind(1, evaluation.run_id).bind(2, evaluation.data).bind(3, evaluation.dataset);
    insert.bind(4, evaluation.dataset_fingerprint).bind(5, evaluation.samples);
    insert.bind(6, evaluation.skipped_images).bind(7, evaluation.precision);
    insert.bind(8, evaluation.device).bind(9, evaluation.threads).bind(10, host_name());
    insert.bind(11, static_cast<std::int64_t>(getpid()));
    insert.run();
    id = sqlite3_last_insert_rowid(db_.get());
    Statement metric(db_.get(), path_,
                     "INSERT INTO evaluation_metrics (evaluation_id, name, value) VALUES (?, ?, ?)",
                     what);
    for (const auto& [name, value] : evaluation.metrics) {
      metric.bind(1, id).bind(2, name).bind(3, value);
      metric.run();
    }
    Statement cell(db_.get(), path_,
                   "INSERT INTO evaluation_confusion (evaluation_id, true_label, predicted_label, "
                   "true_class, predicted_class, count) VALUES (?, ?, ?, ?, ?, ?)",
                   what);
    for (std::size_t t = 0; t < n; ++t) {
      for (std::size_t p = 0; p < n; ++p) {
        cell.bind(1, id)
            .bind(2, static_cast<std::int64_t>(t))
            .bind(3, static_cast<std::int64_t>(p));
        cell.bind(4, evaluation.confusion.classes[t]).bind(5, evaluation.confusion.classes[p]);
        cell.bind(6, evaluation.confusion.counts.at(t).at(p));
        cell.run();
      }
    }
  });
  return id;
}

std::vector<std::pair<std::string, double>> Store::evaluation_metrics(
    std::int64_t evaluation_id) const {
  const std::string what = "cannot read evaluation " + std::to_string(evaluation_id);
  Statement exists(db_.get(), path_, "SELECT 1 FROM evaluations WHERE id = ?", what);
  exists.bind(1, evaluation_id);
  if (!exists.step()) throw Error(path_ + ": error: " + what + ": no such evaluation");
  Statement query(
      db_.get(), path_,
      "SELECT name, value FROM evaluation_metrics WHERE evaluation_id = ? ORDER BY name", what);
  query.bind(1, evaluation_id);
  std::vector<std::pair<std::string, double>> rows;
  while (query.step()) {
    rows.emplace_back(query.text(0), query.is_null(1) ? std::nan("") : query.real(1));
  }
  return rows;
}

namespace {

// The writes record_confusion(), record_predictions(), record_artifact() and complete_run() share,
// inside the caller's transaction.
void check_square(const std::string& db_path, const std::string& what, const ConfusionMatrix& m) {
  const std::size_t n = m.classes.size();
  bool square = m.counts.size() == n;
  for (const auto& row : m.counts) square = square && row.size() == n;
  if (!square) {
    throw Error(db_path + ": error: " + what + ": expected a " + std::to_string(n) + "x" +
                std::to_string(n) + " matrix for " + std::to_string(n) + " classes");
  }
}

void replace_confusion(sqlite3* db, const std::string& db_path, const std::string& what,
                       std::int64_t run_id, const std::string& split, const ConfusionMatrix& m) {
  const std::size_t n = m.classes.size();
  Statement clear(db, db_path, "DELETE FROM confusion WHERE run_id = ? AND split = ?", what);
  clear.bind(1, run_id).bind(2, split);
  clear.run();
  Statement insert(db, db_path,
                   "INSERT INTO confusion (run_id, split, true_label, predicted_label, "
                   "true_class, predicted_class, count) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   what);
  for (std::size_t t = 0; t < n; ++t) {
    for (std::size_t p = 0; p < n; ++p) {
      insert.bind(1, run_id).bind(2, split).bind(3, static_cast<std::int64_t>(t));
      insert.bind(4, static_cast<std::int64_t>(p)).bind(5, m.classes[t]).bind(6, m.classes[p]);
      insert.bind(7, m.counts[t][p]);
      insert.run();
    }
  }
}

void replace_predictions(sqlite3* db, const std::string& db_path, const std::string& what,
                         std::int64_t run_id, const std::string& split,
                         const std::vector<Prediction>& rows) {
  Statement clear(db, db_path, "DELETE FROM predictions WHERE run_id = ? AND split = ?", what);
  clear.bind(1, run_id).bind(2, split);
  clear.run();
  Statement insert(db, db_path,
                   "INSERT INTO predictions (run_id, split, sample, sample_id, true_label, "
                   "predicted_label, score, probabilities) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   what);
  std::string probabilities;
  for (const Prediction& row : rows) {
    // %.9g prints a float exactly (9 significant digits round-trip IEEE single precision).
    probabilities = "[";
    for (std::size_t c = 0; c < row.probabilities.size(); ++c) {
      char number[32];
      std::snprintf(number, sizeof number, "%.9g", static_cast<double>(row.probabilities[c]));
      probabilities += (c > 0 ? "," : "") + std::string(number);
    }
    probabilities += "]";
    const auto predicted = static_cast<std::size_t>(row.predicted_label);
    const double score = predicted < row.probabilities.size()
                             ? static_cast<double>(row.probabilities[predicted])
                             : std::numeric_limits<double>::quiet_NaN();
    insert.bind(1, run_id).bind(2, split).bind(3, row.sample).bind(4, row.sample_id);
    insert.bind(5, row.true_label).bind(6, row.predicted_label).bind(7, score);
    insert.bind(8, probabilities);
    insert.run();
  }
}

void upsert_artifact(sqlite3* db, const std::string& db_path, const std::string& what,
                     std::int64_t run_id, const Artifact& a) {
  Statement upsert(
      db, db_path,
      "INSERT INTO artifacts (run_id, kind, path, sha256, bytes) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (run_id, path) DO UPDATE SET kind = excluded.kind, "
      "sha256 = excluded.sha256, bytes = excluded.bytes, "
      "recorded_at = excluded.recorded_at",
      what);
  upsert.bind(1, run_id).bind(2, a.kind).bind(3, a.path).bind(4, a.sha256).bind(5, a.bytes);
  upsert.run();
}

}  // namespace

void Store::record_confusion(std::int64_t run_id, const std::string& split,
                             const std::vector<std::string>& classes,
                             const std::vector<std::vector<std::int64_t>>& counts) {
  const std::string what =
      "cannot record " + split + " confusion matrix of run " + std::to_string(run_id);
  const ConfusionMatrix matrix{classes, counts};
  check_square(path_, what, matrix);
  write_transaction(db_.get(), path_, what,
                    [&] { replace_confusion(db_.get(), path_, what, run_id, split, matrix); });
}

void Store::record_predictions(std::int64_t run_id, const std::string& split,
                               const std::vector<Prediction>& rows) {
  const std::string what =
      "cannot record " + split + " predictions of run " + std::to_string(run_id);
  write_transaction(db_.get(), path_, what,
                    [&] { replace_predictions(db_.get(), path_, what, run_id, split, rows); });
}

void Store::set_compare_to(std::int64_t experiment_id, const std::string& model) {
  const std::string what =
      "cannot record the baseline of experiment " + std::to_string(experiment_id);
  write_transaction(db_.get(), path_, what, [&] {
    Statement update(db_.get(), path_,
                     "UPDATE experiments SET compare_to = NULLIF(?, '') WHERE id = ?", what);
    update.bind(1, model).bind(2, experiment_id);
    update.run();
  });
}

namespace {

std::optional<double> finite_or_null(double v) {
  return std::isfinite(v) ? std::optional<double>(v) : std::nullopt;
}

}  // namespace

void Store::record_statistics(std::int64_t experiment_id,
                              const std::vector<stats::ModelStatistics>& statistics) {
  const std::string what =
      "cannot record the statistics of experiment " + std::to_string(experiment_id);
  write_transaction(db_.get(), path_, what, [&] {
    for (const char* sql : {"DELETE FROM model_statistics WHERE experiment_id = ?",
                            "DELETE FROM mcnemar_tests WHERE experiment_id = ?"}) {
      Statement clear(db_.get(), path_, sql, what);
      clear.bind(1, experiment_id);
      clear.run();
    }
    Statement model(
        db_.get(), path_,
        "INSERT INTO model_statistics (experiment_id, model, replicates, accuracy_mean, "
        "accuracy_sd, accuracy_low, accuracy_high, accuracy_interval, f1_mean, f1_sd, f1_low, "
        "f1_high, is_baseline, baseline, pairs, difference, difference_low, difference_high, "
        "test, statistic, df, p, p_holm, verdict, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULLIF(?, ''))",
        what);
    Statement mcnemar(db_.get(), path_,
                      "INSERT INTO mcnemar_tests (experiment_id, model, baseline, replicate, "
                      "run_id, baseline_run_id, n, model_only, baseline_only, p) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      what);
    for (const stats::ModelStatistics& m : statistics) {
      model.bind(1, experiment_id).bind(2, m.model).bind(3, m.replicates);
      if (m.replicates > 0) {
        model.bind(4, finite_or_null(m.accuracy.mean)).bind(5, finite_or_null(m.accuracy.sd));
        model.bind(6, finite_or_null(m.accuracy.low)).bind(7, finite_or_null(m.accuracy.high));
        model.bind(9, finite_or_null(m.f1.mean)).bind(10, finite_or_null(m.f1.sd));
        model.bind(11, finite_or_null(m.f1.low)).bind(12, finite_or_null(m.f1.high));
      } else {
        for (int column : {4, 5, 6, 7, 9, 10, 11, 12}) model.bind_null(column);
      }
      model.bind(8, m.accuracy.method).bind(13, m.is_baseline ? 1 : 0);
      if (m.comparison) {
        const stats::Comparison& c = *m.comparison;
        model.bind(14, c.baseline).bind(15, c.pairs).bind(16, finite_or_null(c.difference));
        model.bind(17, finite_or_null(c.low)).bind(18, finite_or_null(c.high)).bind(19, c.test);
        model.bind(20, finite_or_null(c.statistic)).bind(21, c.df).bind(22, c.p);
        model.bind(23, c.p_holm).bind(24, c.verdict);
        for (const stats::McNemarTest& t : c.mcnemar) {
          mcnemar.bind(1, experiment_id).bind(2, m.model).bind(3, c.baseline).bind(4, t.replicate);
          mcnemar.bind(5, t.run_id).bind(6, t.baseline_run_id).bind(7, t.n).bind(8, t.model_only);
          mcnemar.bind(9, t.baseline_only).bind(10, t.p);
          mcnemar.run();
        }
      } else {
        for (int column = 14; column <= 23; ++column) model.bind_null(column);
        if (m.is_baseline) {
          model.bind(24, "baseline");
        } else {
          model.bind_null(24);
        }
      }
      model.bind(25, m.note);
      model.run();
    }
  });
}

Artifact describe_artifact(const std::string& kind, const std::string& path) {
  Artifact a;
  a.kind = kind;
  a.path = path;
  a.sha256 = sha256_file(path);
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec) throw Error(path + ": error: cannot read file size: " + ec.message());
  a.bytes = static_cast<std::int64_t>(bytes);
  return a;
}

void Store::record_artifact(std::int64_t run_id, const std::string& kind, const std::string& path) {
  // Hash before taking the write lock: a large checkpoint must not block other writers.
  const Artifact artifact = describe_artifact(kind, path);
  const std::string what = "cannot record artifact " + path + " of run " + std::to_string(run_id);
  write_transaction(db_.get(), path_, what,
                    [&] { upsert_artifact(db_.get(), path_, what, run_id, artifact); });
}

void Store::finish_run(std::int64_t run_id, RunStatus status, const std::string& error,
                       const std::vector<Metric>& metrics) {
  RunResults results;
  results.metrics = metrics;
  finish_run_with(run_id, status, error, results);
}

void Store::complete_run(std::int64_t run_id, const RunResults& results) {
  finish_run_with(run_id, RunStatus::kCompleted, "", results);
}

void Store::finish_run_with(std::int64_t run_id, RunStatus status, const std::string& error,
                            const RunResults& results) {
  const std::string what = "cannot finish run " + std::to_string(run_id);
  if (status == RunStatus::kRunning) {
    throw Error(path_ + ": error: " + what + ": a final status cannot be 'running'");
  }
  for (const auto& [split, matrix] : results.confusion) check_square(path_, what, matrix);
  write_transaction(db_.get(), path_, what, [&] {
    Statement update(
        db_.get(), path_,
        // 'now' is evaluated once per statement, so both columns agree.
        "UPDATE runs SET status = ?, error = NULLIF(?, ''), "
        "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), "
        "wall_seconds = ROUND((julianday('now') - julianday(started_at)) * 86400.0, 3) "
        "WHERE id = ? AND status = 'running'",
        what);
    update.bind(1, to_string(status)).bind(2, error).bind(3, run_id);
    update.run();
    if (sqlite3_changes(db_.get()) == 0) {
      Statement current(db_.get(), path_, "SELECT status FROM runs WHERE id = ?", what);
      current.bind(1, run_id);
      if (!current.step()) throw Error(path_ + ": error: " + what + ": no such run");
      throw Error(path_ + ": error: " + what + ": it is already " + current.text(0));
    }
    Statement upsert(db_.get(), path_, kUpsertMetric, what);
    for (const auto& m : results.metrics) {
      upsert.bind(1, run_id).bind(2, m.split).bind(3, m.name).bind(4, m.value);
      upsert.run();
    }
    for (const auto& [split, matrix] : results.confusion) {
      replace_confusion(db_.get(), path_, what, run_id, split, matrix);
    }
    for (const auto& [split, rows] : results.predictions) {
      replace_predictions(db_.get(), path_, what, run_id, split, rows);
    }
    for (const Artifact& a : results.artifacts) upsert_artifact(db_.get(), path_, what, run_id, a);
  });
}

int Store::mark_stale_runs() {
  const std::string what = "cannot mark interrupted runs";
  const std::string host = host_name();
  struct Stale {
    std::int64_t id, pid, resumes;
  };
  // Read without the write lock: opening a database only to read it (a report while another
  // runner trains) must not wait for, or block, that runner.
  std::vector<Stale> runs, experiments;
  retry_busy(db_.get(), path_, what, [&] {
    const auto find_stale = [&](const char* sql) {
      std::vector<Stale> stale;
      Statement running(db_.get(), path_, sql, what);
      running.bind(1, host);
      while (running.step()) {
        if (!process_alive(running.int64(1))) {
          stale.push_back({running.int64(0), running.int64(1), running.int64(2)});
        }
      }
      return stale;
    };
    runs = find_stale(
        "SELECT id, pid, resumes FROM runs WHERE status = 'running' AND host = ? ORDER BY id");
    experiments = find_stale(
        "SELECT id, pid, 0 FROM experiments WHERE status = 'running' AND host = ? ORDER BY id");
  });
  if (runs.empty() && experiments.empty()) return 0;

  int marked = 0;
  write_transaction(db_.get(), path_, what, [&] {
    // The row must still be as it was read: meanwhile another process may have finished it,
    // marked it, or marked it and resumed it (status 'running' again, but another pid and one
    // more resume), and a live resumed run must not be interrupted.
    Statement mark_run(db_.get(), path_,
                       "UPDATE runs SET status = 'interrupted', error = ? "
                       "WHERE id = ? AND status = 'running' AND host = ? AND pid = ? AND "
                       "resumes = ?",
                       what);
    marked = 0;
    for (const Stale& run : runs) {
      mark_run.bind(1, "interrupted: process " + std::to_string(run.pid) + " on " + host +
                           " ended without finishing the run");
      mark_run.bind(2, run.id).bind(3, host).bind(4, run.pid).bind(5, run.resumes);
      mark_run.run();
      marked += sqlite3_changes(db_.get());
    }
    Statement mark_experiment(db_.get(), path_,
                              "UPDATE experiments SET status = 'interrupted' "
                              "WHERE id = ? AND status = 'running' AND host = ? AND pid = ?",
                              what);
    for (const Stale& experiment : experiments) {
      mark_experiment.bind(1, experiment.id).bind(2, host).bind(3, experiment.pid);
      mark_experiment.run();
    }
  });
  return marked;
}

int Store::interrupt_running_runs(const std::string& reason) {
  int marked = 0;
  write_transaction(db_.get(), path_, "cannot mark interrupted runs", [&] {
    Statement runs(db_.get(), path_,
                   "UPDATE runs SET status = 'interrupted', error = ? WHERE status = 'running'",
                   "cannot mark interrupted runs");
    runs.bind(1, reason);
    runs.run();
    marked = sqlite3_changes(db_.get());
    exec(db_.get(), path_, "UPDATE experiments SET status = 'interrupted' WHERE status = 'running'",
         "cannot mark interrupted experiments");
  });
  return marked;
}

void Store::resume_run(std::int64_t run_id, int keep_epochs) {
  const std::string what = "cannot resume run " + std::to_string(run_id);
  if (keep_epochs < 0) {
    throw Error(path_ + ": error: " + what + ": keep_epochs is " + std::to_string(keep_epochs) +
                ", not a count");
  }
  write_transaction(db_.get(), path_, what, [&] {
    // Checked and changed under the write lock: of two processes resuming the run, one wins.
    Statement take(db_.get(), path_,
                   "UPDATE runs SET status = 'running', pid = ?, host = ?, error = NULL, "
                   "finished_at = NULL, wall_seconds = NULL, resumes = resumes + 1 "
                   "WHERE id = ? AND status = 'interrupted'",
                   what);
    take.bind(1, static_cast<std::int64_t>(getpid())).bind(2, host_name()).bind(3, run_id);
    take.run();
    if (sqlite3_changes(db_.get()) == 0) {
      Statement current(db_.get(), path_, "SELECT status FROM runs WHERE id = ?", what);
      current.bind(1, run_id);
      if (!current.step()) throw Error(path_ + ": error: " + what + ": no such run");
      throw Error(path_ + ": error: " + what + ": it is " + current.text(0) + ", not interrupted");
    }
    Statement epochs(db_.get(), path_,
                     "DELETE FROM epochs WHERE run_id = ?1 AND id NOT IN "
                     "(SELECT id FROM epochs WHERE run_id = ?1 ORDER BY id LIMIT ?2)",
                     what);
    epochs.bind(1, run_id).bind(2, keep_epochs);
    epochs.run();
    for (const char* sql :
         {"DELETE FROM metrics WHERE run_id = ?", "DELETE FROM confusion WHERE run_id = ?",
          "DELETE FROM predictions WHERE run_id = ?"}) {
      Statement clear(db_.get(), path_, sql, what);
      clear.bind(1, run_id);
      clear.run();
    }
  });
}

void Store::link_run(std::int64_t experiment_id, std::int64_t run_id, const std::string& how) {
  const std::string what = "cannot link run " + std::to_string(run_id) + " to experiment " +
                           std::to_string(experiment_id);
  if (how != "ran" && how != "resumed" && how != "skipped") {
    throw Error(path_ + ": error: " + what + ": unknown way '" + how +
                "'; ways: ran, resumed, skipped");
  }
  write_transaction(db_.get(), path_, what, [&] {
    Statement link(db_.get(), path_,
                   "INSERT OR REPLACE INTO experiment_runs (experiment_id, run_id, how) "
                   "VALUES (?, ?, ?)",
                   what);
    link.bind(1, experiment_id).bind(2, run_id).bind(3, how);
    link.run();
  });
}

std::string Store::file_sha256(const std::string& path) {
  // Keyed by the file itself, not the spelling: relative paths from another directory and
  // symbolic links (re-pointed to another file of the same size and mtime) name one row each.
  std::error_code ec;
  const std::string key = std::filesystem::canonical(path, ec).string();
  auto before = stamp_of(path);
  if (ec || !before) throw Error(path + ": error: cannot read file");

  const std::string what = "cannot read the cached sha256 of " + path;
  std::optional<std::string> cached;
  retry_busy(db_.get(), path_, what, [&] {
    Statement query(db_.get(), path_,
                    "SELECT sha256 FROM file_hashes WHERE path = ? AND bytes = ? AND mtime_ns = ?",
                    what);
    query.bind(1, key).bind(2, before->bytes).bind(3, before->mtime_ns);
    cached = query.step() ? std::optional<std::string>(query.text(0)) : std::nullopt;
  });
  if (cached) return *cached;

  // Hashed outside any transaction: reading 500 MB must not hold the write lock. A file that
  // changed while it was read gives the digest of neither version: read it again.
  std::string digest;
  std::int64_t hashing_started = 0;
  for (int attempt = 1;; ++attempt) {
    hashing_started = now_ns();
    digest = sha256_file(path);
    const auto after = stamp_of(path);
    if (!after) throw Error(path + ": error: cannot read file");
    if (*after == *before) break;
    if (attempt == 3) throw Error(path + ": error: the file keeps changing while it is hashed");
    before = after;
  }
  // Not cached when the mtime is so recent that a rewrite of the same size within the same mtime
  // tick (coarse on some file systems) would go unseen: the next call hashes it again.
  constexpr std::int64_t kRacyNs = 2'000'000'000;
  if (before->mtime_ns > hashing_started - kRacyNs) return digest;
  const std::string cache_what = "cannot cache the sha256 of " + path;
  write_transaction(db_.get(), path_, cache_what, [&] {
    Statement cache(db_.get(), path_,
                    "INSERT OR REPLACE INTO file_hashes (path, bytes, mtime_ns, sha256) "
                    "VALUES (?, ?, ?, ?)",
                    cache_what);
    cache.bind(1, key).bind(2, before->bytes).bind(3, before->mtime_ns).bind(4, digest);
    cache.run();
  });
  return digest;
}

std::optional<std::string> Store::latest_experiment() const {
  Statement latest(db_.get(), path_, "SELECT name FROM experiments ORDER BY id DESC LIMIT 1",
                   "cannot read experiments");
  if (!latest.step()) return std::nullopt;
  return latest.text(0);
}

std::vector<RunSummary> Store::summaries(const std::string& experiment) const {
  std::string name = experiment;
  if (name.empty()) {
    auto latest = latest_experiment();
    if (!latest) return {};
    name = *latest;
  }
  Statement query(db_.get(), path_,
                  (std::string("SELECT ") + kSummaryColumns +
                   " FROM latest_runs AS s WHERE s.experiment = ? ORDER BY s.run_id")
                      .c_str(),
                  "cannot read runs of experiment '" + name + "'");
  query.bind(1, name);
  std::vector<RunSummary> rows;
  while (query.step()) rows.push_back(read_summary(query));
  return rows;
}

RunSummary Store::summary(std::int64_t run_id) const {
  const std::string what = "cannot read run " + std::to_string(run_id);
  Statement query(
      db_.get(), path_,
      (std::string("SELECT ") + kSummaryColumns + " FROM run_summary AS s WHERE s.run_id = ?")
          .c_str(),
      what);
  query.bind(1, run_id);
  if (!query.step()) throw Error(path_ + ": error: " + what + ": no such run");
  return read_summary(query);
}

std::vector<RunSummary> Store::summaries_of(const std::vector<std::int64_t>& run_ids) const {
  // One statement for all: preparing the view's query is most of the cost of one row.
  Statement query(
      db_.get(), path_,
      (std::string("SELECT ") + kSummaryColumns + " FROM run_summary AS s WHERE s.run_id = ?")
          .c_str(),
      "cannot read runs");
  std::vector<RunSummary> rows;
  rows.reserve(run_ids.size());
  for (std::int64_t id : run_ids) {
    query.bind(1, id);
    if (!query.step()) {
      throw Error(path_ + ": error: cannot read run " + std::to_string(id) + ": no such run");
    }
    rows.push_back(read_summary(query));
    query.reset();
  }
  return rows;
}

std::vector<EpochRow> Store::epochs(std::int64_t run_id) const {
  Statement query(db_.get(), path_,
                  "SELECT phase, epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds, "
                  "images_per_second FROM epochs WHERE run_id = ? ORDER BY id",
                  "cannot read epochs of run " + std::to_string(run_id));
  query.bind(1, run_id);
  std::vector<EpochRow> rows;
  while (query.step()) {
    EpochRow row;
    row.phase = query.text(0);
    row.epoch = static_cast<int>(query.int64(1));
    row.train_loss = query.optional_real(2);
    row.train_acc = query.optional_real(3);
    row.val_loss = query.optional_real(4);
    row.val_acc = query.optional_real(5);
    row.lr = query.optional_real(6);
    row.seconds = query.optional_real(7);
    row.images_per_second = query.optional_real(8);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::pair<std::string, double>> Store::metrics(std::int64_t run_id,
                                                           const std::string& split) const {
  Statement query(db_.get(), path_,
                  "SELECT name, value FROM metrics WHERE run_id = ? AND split = ? ORDER BY name",
                  "cannot read " + split + " metrics of run " + std::to_string(run_id));
  query.bind(1, run_id).bind(2, split);
  std::vector<std::pair<std::string, double>> values;
  while (query.step()) {
    // SQLite stores NaN (a diverged loss) as NULL; give it back as NaN, not 0.
    values.emplace_back(query.text(0),
                        query.optional_real(1).value_or(std::numeric_limits<double>::quiet_NaN()));
  }
  return values;
}

std::optional<ConfusionMatrix> Store::confusion(std::int64_t run_id,
                                                const std::string& split) const {
  Statement query(db_.get(), path_,
                  "SELECT true_label, predicted_label, true_class, count FROM confusion "
                  "WHERE run_id = ? AND split = ? ORDER BY true_label, predicted_label",
                  "cannot read " + split + " confusion matrix of run " + std::to_string(run_id));
  query.bind(1, run_id).bind(2, split);
  ConfusionMatrix matrix;
  while (query.step()) {
    const auto t = static_cast<std::size_t>(query.int64(0));
    const auto p = static_cast<std::size_t>(query.int64(1));
    // record_confusion writes every cell, so the labels are dense from 0.
    if (matrix.classes.size() <= t) {
      matrix.classes.resize(t + 1);
      matrix.counts.resize(t + 1);
    }
    matrix.classes[t] = query.text(2);
    if (matrix.counts[t].size() <= p) matrix.counts[t].resize(p + 1, 0);
    matrix.counts[t][p] = query.int64(3);
  }
  if (matrix.classes.empty()) return std::nullopt;
  for (auto& row : matrix.counts) row.resize(matrix.classes.size(), 0);
  return matrix;
}

std::vector<Artifact> Store::artifacts(std::int64_t run_id) const {
  Statement query(db_.get(), path_,
                  "SELECT kind, path, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY id",
                  "cannot read artifacts of run " + std::to_string(run_id));
  query.bind(1, run_id);
  std::vector<Artifact> rows;
  while (query.step()) {
    rows.push_back({query.text(0), query.text(1), query.text(2), query.int64(3)});
  }
  return rows;
}

std::vector<Prediction> Store::predictions(std::int64_t run_id, const std::string& split) const {
  Statement query(db_.get(), path_,
                  "SELECT sample, sample_id, true_label, predicted_label, probabilities "
                  "FROM predictions WHERE run_id = ? AND split = ? ORDER BY sample",
                  "cannot read " + split + " predictions of run " + std::to_string(run_id));
  query.bind(1, run_id).bind(2, split);
  std::vector<Prediction> rows;
  while (query.step()) {
    Prediction row;
    row.sample = query.int64(0);
    row.sample_id = query.text(1);
    row.true_label = query.int64(2);
    row.predicted_label = query.int64(3);
    for (const auto& p : nlohmann::json::parse(query.text(4))) {
      row.probabilities.push_back(p.get<float>());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::optional<std::int64_t> Store::latest_invocation(const std::string& experiment) const {
  Statement query(db_.get(), path_,
                  "SELECT id FROM experiments WHERE name = ? ORDER BY id DESC LIMIT 1",
                  "cannot read invocations of experiment '" + experiment + "'");
  query.bind(1, experiment);
  if (!query.step()) return std::nullopt;
  return query.int64(0);
}

std::string Store::compare_to(std::int64_t experiment_id) const {
  Statement query(db_.get(), path_, "SELECT compare_to FROM experiments WHERE id = ?",
                  "cannot read experiment " + std::to_string(experiment_id));
  query.bind(1, experiment_id);
  if (!query.step()) return "";
  return query.text(0);
}

std::vector<PluginUse> Store::plugins(std::int64_t run_id) const {
  Statement query(db_.get(), path_,
                  "SELECT kind, component, plugin, version, library, sha256 FROM run_plugins "
                  "WHERE run_id = ? ORDER BY kind",
                  "cannot read plugins of run " + std::to_string(run_id));
  query.bind(1, run_id);
  std::vector<PluginUse> rows;
  while (query.step()) {
    rows.push_back(
        {query.text(0), query.text(1), query.text(2), query.text(3), query.text(4), query.text(5)});
  }
  return rows;
}

std::optional<std::int64_t> Store::run_with_artifact(const std::string& kind,
                                                     const std::string& path) const {
  Statement query(db_.get(), path_,
                  "SELECT r.id FROM artifacts AS a JOIN runs AS r ON r.id = a.run_id "
                  "WHERE a.kind = ? AND a.path = ? AND r.status = 'completed' "
                  "ORDER BY r.id DESC LIMIT 1",
                  "cannot look up the run of " + path);
  query.bind(1, kind).bind(2, path);
  if (!query.step()) return std::nullopt;
  return query.int64(0);
}

std::vector<std::pair<std::string, std::int64_t>> Store::linked_runs(
    std::int64_t experiment_id) const {
  Statement query(
      db_.get(), path_,
      "SELECT r.model, r.id FROM experiment_runs AS l JOIN runs AS r ON r.id = l.run_id "
      "WHERE l.experiment_id = ? ORDER BY l.rowid",
      "cannot read the runs of experiment " + std::to_string(experiment_id));
  query.bind(1, experiment_id);
  std::vector<std::pair<std::string, std::int64_t>> runs;
  while (query.step()) runs.emplace_back(query.text(0), query.int64(1));
  return runs;
}

std::optional<std::int64_t> Store::latest_completed_run(const std::string& experiment,
                                                        const std::string& model) const {
  Statement query(db_.get(), path_,
                  "SELECT r.id FROM runs AS r JOIN experiments AS e ON e.id = r.experiment_id "
                  "WHERE e.name = ? AND r.model = ? AND r.status = 'completed' "
                  "ORDER BY r.id DESC LIMIT 1",
                  "cannot look up completed runs of model " + model);
  query.bind(1, experiment).bind(2, model);
  if (!query.step()) return std::nullopt;
  return query.int64(0);
}

std::pair<std::string, std::string> Store::run_config_and_file(std::int64_t run_id) const {
  const std::string what = "cannot read run " + std::to_string(run_id);
  Statement query(db_.get(), path_,
                  "SELECT r.config_json, e.file FROM runs AS r "
                  "JOIN experiments AS e ON e.id = r.experiment_id WHERE r.id = ?",
                  what);
  query.bind(1, run_id);
  if (!query.step()) throw Error(path_ + ": error: " + what + ": no such run");
  return {query.text(0), query.text(1)};
}

std::optional<std::int64_t> Store::completed_run(const std::string& identity) const {
  Statement query(db_.get(), path_,
                  "SELECT id FROM runs WHERE identity = ? AND status = 'completed' "
                  "ORDER BY id DESC LIMIT 1",
                  "cannot look up completed runs of cell " + identity);
  query.bind(1, identity);
  if (!query.step()) return std::nullopt;
  return query.int64(0);
}

std::optional<std::int64_t> Store::resumable_run(const std::string& identity) const {
  Statement query(db_.get(), path_,
                  "SELECT id FROM runs WHERE identity = ?1 AND status = 'interrupted' AND "
                  "id > (SELECT COALESCE(MAX(id), 0) FROM runs "
                  "      WHERE identity = ?1 AND status = 'completed') "
                  "ORDER BY id DESC LIMIT 1",
                  "cannot look up interrupted runs of cell " + identity);
  query.bind(1, identity);
  if (!query.step()) return std::nullopt;
  return query.int64(0);
}

std::optional<CellState> Store::cell_state(const std::string& identity) const {
  Statement query(db_.get(), path_,
                  "SELECT r.id, r.status, r.pid, r.host, r.error, "
                  "       (SELECT COUNT(*) FROM epochs WHERE run_id = r.id), "
                  "       e.phase, e.epoch "
                  "FROM runs AS r LEFT JOIN epochs AS e ON e.id = "
                  "  (SELECT MAX(id) FROM epochs WHERE run_id = r.id) "
                  "WHERE r.identity = ? ORDER BY r.id DESC LIMIT 1",
                  "cannot read the state of cell " + identity);
  query.bind(1, identity);
  if (!query.step()) return std::nullopt;
  CellState state;
  state.run_id = query.int64(0);
  state.status = run_status_from_string(query.text(1));
  state.pid = query.int64(2);
  state.host = query.text(3);
  state.error = query.text(4);
  state.epochs_recorded = static_cast<int>(query.int64(5));
  state.last_phase = query.text(6);
  state.last_epoch = static_cast<int>(query.optional_int64(7).value_or(0));
  return state;
}

}  // namespace tlr
