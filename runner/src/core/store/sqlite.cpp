#include "core/store/sqlite.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>
#include <utility>

namespace tlr::store_detail {

void fail(sqlite3* db, const std::string& path, const std::string& what) {
  if (db == nullptr) throw Error(path + ": error: " + what + ": out of memory");
  const std::string message = path + ": error: " + what + ": " + sqlite3_errmsg(db);
  const int code = sqlite3_errcode(db) & 0xff;  // the primary code of an extended one
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) throw BusyError(message);
  throw Error(message);
}

void exec(sqlite3* db, const std::string& path, const char* sql, const std::string& what) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail(db, path, what);
}

Statement::Statement(sqlite3* db, const std::string& path, const char* sql, std::string what)
    : db_(db), path_(path), what_(std::move(what)) {
  if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) fail(db_, path_, what_);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) fail(db_, path_, what_);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) fail(db_, path_, what_);
  return *this;
}

Statement& Statement::bind(int index, const std::string& value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                        SQLITE_TRANSIENT) != SQLITE_OK) {
    fail(db_, path_, what_);
  }
  return *this;
}

Statement& Statement::bind(int index, std::optional<double> value) {
  return value ? bind(index, *value) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) fail(db_, path_, what_);
  return *this;
}

Statement& Statement::bind_value(int index, const sqlite3_value* value) {
  if (sqlite3_bind_value(stmt_, index, value) != SQLITE_OK) fail(db_, path_, what_);
  return *this;
}

const sqlite3_value* Statement::value(int column) const {
  return sqlite3_column_value(stmt_, column);
}

int Statement::columns() const { return sqlite3_column_count(stmt_); }

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, path_, what_);
}

void Statement::run() {
  step();
  reset();
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::optional<double> Statement::optional_real(int column) const {
  if (is_null(column)) return std::nullopt;
  return real(column);
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  if (data == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(data),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

Transaction::Transaction(sqlite3* db, const std::string& path, std::string what)
    : db_(db), path_(path), what_(std::move(what)) {
  exec(db_, path_, "BEGIN IMMEDIATE", what_);
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  exec(db_, path_, "COMMIT", what_);
  open_ = false;
}

namespace {

// A random delay in [1, cap] ms. The generator is reseeded in a forked child, which would
// otherwise draw the same delays as its parent and its siblings.
std::chrono::milliseconds backoff(int failures) {
  thread_local pid_t seeded_for = 0;
  thread_local std::minstd_rand random;
  if (seeded_for != getpid()) {
    seeded_for = getpid();
    random.seed(std::random_device{}() ^ static_cast<unsigned>(seeded_for));
  }
  const int cap = std::min(100, 1 << std::min(failures, 7));
  return std::chrono::milliseconds(std::uniform_int_distribution<int>(1, cap)(random));
}

}  // namespace

void retry_busy(sqlite3* db, const std::string& path, const std::string& what,
                const std::function<void()>& attempt, std::chrono::milliseconds budget) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + budget;
  // Whatever happens, the connection is left with the full busy timeout for its next reads.
  struct RestoreTimeout {
    sqlite3* db;
    ~RestoreTimeout() { sqlite3_busy_timeout(db, static_cast<int>(kBusyTimeout.count())); }
  } restore{db};
  for (int failures = 0;; ++failures) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    sqlite3_busy_timeout(db, static_cast<int>(std::max<std::int64_t>(
                                 0, std::min<std::int64_t>(left.count(), kBusyTimeout.count()))));
    try {
      attempt();
      return;
    } catch (const BusyError&) {
      if (Clock::now() >= deadline) {
        const auto ms = budget.count();
        throw Error(
            path + ": error: " + what + ": database is locked; gave up after " +
            (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms"));
      }
      std::this_thread::sleep_for(backoff(failures));
    }
  }
}

void write_transaction(sqlite3* db, const std::string& path, const std::string& what,
                       const std::function<void()>& body, std::chrono::milliseconds budget) {
  retry_busy(
      db, path, what,
      [&] {
        Transaction tx(db, path, what);
        body();
        tx.commit();
      },
      budget);
}

}  // namespace tlr::store_detail
