// Thin RAII over the SQLite C API for the run store: a prepared statement and a write
// transaction. Every failure becomes a one-line tlr::Error "<db path>: error: <what>: <sqlite>",
// so callers only say what they were doing.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

namespace tlr::store_detail {

// Throws tlr::Error("<path>: error: <what>: <sqlite3_errmsg>").
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

}  // namespace tlr::store_detail
