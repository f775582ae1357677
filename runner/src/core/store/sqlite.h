// Thin RAII over the SQLite C API for the run store: a prepared statement, a write transaction
// and the retry of a transaction that lost the race for the write lock. Every failure becomes a
// one-line tlr::Error "<db path>: error: <what>: <sqlite>", so callers only say what they were
// doing.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "tlr/error.h"

namespace tlr::store_detail {

// SQLITE_BUSY or SQLITE_LOCKED: another connection held a lock longer than the busy timeout, or
// SQLite refused to wait (it does not call the busy handler where waiting could deadlock). The
// statement did nothing; the whole transaction can be run again.
class BusyError : public Error {
 public:
  using Error::Error;
};

// Throws tlr::Error("<path>: error: <what>: <sqlite3_errmsg>"), a BusyError for SQLITE_BUSY and
// SQLITE_LOCKED.
[[noreturn]] void fail(sqlite3* db, const std::string& path, const std::string& what);

// Runs SQL without results (several statements allowed).
void exec(sqlite3* db, const std::string& path, const char* sql, const std::string& what);

// One prepared statement. Parameters are 1-based as in SQLite, columns 0-based.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& path, const char* sql, std::string what);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  // NaN binds as NULL in SQLite; pass std::nullopt for "not measured" explicitly.
  Statement& bind(int index, double value);
  Statement& bind(int index, const std::string& value);
  Statement& bind(int index, const char* value) { return bind(index, std::string(value)); }
  Statement& bind(int index, std::optional<double> value);
  Statement& bind_null(int index);
  // Binds a column value of another statement (value()), of this or another connection, as it
  // is: type and bytes. What copying rows between databases needs.
  Statement& bind_value(int index, const sqlite3_value* value);

  // Advances to the next row; false when done. Throws on any error.
  bool step();
  // For statements without results: steps once and resets, so the statement can be re-bound.
  void run();
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  double real(int column) const;
  std::optional<double> optional_real(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;
  std::string text(int column) const;  // NULL reads as ""
  // The column's value, valid until the next step() or reset(): for bind_value().
  const sqlite3_value* value(int column) const;
  // The number of columns of the result.
  int columns() const;

 private:
  sqlite3* db_;
  const std::string& path_;
  std::string what_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE on construction (takes the write lock up front, so a busy database waits in
// busy_timeout here instead of failing half-way through); rolls back unless commit() was called.
class Transaction {
 public:
  Transaction(sqlite3* db, const std::string& path, std::string what);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  const std::string& path_;
  std::string what_;
  bool open_ = true;
};

// How long one attempt waits in SQLite's busy handler, and how long retry_busy keeps trying in
// all. Several runners write one results.db; a transaction of the store holds the lock for
// milliseconds, so minutes of waiting means a stuck process (or a user's sqlite3 shell left
// inside BEGIN), which is worth an error.
inline constexpr std::chrono::milliseconds kBusyTimeout{30'000};
inline constexpr std::chrono::milliseconds kBusyBudget{120'000};

// Calls `attempt` until it returns without a BusyError, sleeping a short random time (1 ms, up
// to 100 ms as attempts fail) between tries so that writers which collided do not collide again
// in step. The busy timeout of `db` is lowered for the last tries so the whole stays within
// `budget`; then throws "<path>: error: <what>: database is locked; gave up after 120 s" (the
// budget, in ms when it is not whole seconds).
// `attempt` must be safe to run again: everything it wrote was rolled back.
void retry_busy(sqlite3* db, const std::string& path, const std::string& what,
                const std::function<void()>& attempt,
                std::chrono::milliseconds budget = kBusyBudget);

// retry_busy around one Transaction: `body` runs inside BEGIN IMMEDIATE and is committed; on a
// BusyError anywhere (BEGIN, a statement, COMMIT) it is rolled back and run again. Other errors
// roll back and propagate.
void write_transaction(sqlite3* db, const std::string& path, const std::string& what,
                       const std::function<void()>& body,
                       std::chrono::milliseconds budget = kBusyBudget);

}  // namespace tlr::store_detail
