// The fixture of the run store's tests: a fresh results.db path per test under the temp
// directory, a plain sqlite3 connection to look at the file the way a user does, and the runs and
// epochs the tests record.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/store/store.h"
#include "engine/util/sha256.h"

namespace tlr::testing {

namespace fs = std::filesystem;

// A plain sqlite3 connection, the way a user (or another process) sees the file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << sqlite3_errmsg(db_);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close(db_); }
  void exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << message;
      sqlite3_free(message);
    }
  }
  // First column of the first row as text; "<null>" for NULL, "<none>" for no row.
  std::string value(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db_);
      return "<error>";
    }
    std::string result = "<none>";
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      result = text != nullptr ? reinterpret_cast<const char*>(text) : "<null>";
    }
    sqlite3_finalize(stmt);
    return result;
  }

 private:
  sqlite3* db_ = nullptr;
};

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("tlr_store_test_" + std::to_string(getpid()) + "_" +
                                        info->test_suite_name() + "_" + info->name());
    fs::remove_all(dir_);
    db_path_ = (dir_ / "results" / "results.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static RunStart run_of(std::int64_t experiment_id, const std::string& model) {
    RunStart run;
    run.experiment_id = experiment_id;
    run.model = model;
    run.strategy = "fine_tune";
    run.backbone = "vgg";
    run.config_json = R"({"name":")" + model + R"(","training":{"epochs":3}})";
    run.config_hash = sha256_hex(run.config_json.data(), run.config_json.size());
    run.seed = 42;
    run.threads = 2;
    return run;
  }

  static EpochRow epoch_of(const std::string& phase, int epoch, double val_acc) {
    EpochRow row;
    row.phase = phase;
    row.epoch = epoch;
    row.train_loss = 1.0 / epoch;
    row.train_acc = 0.5 + 0.01 * epoch;
    row.val_loss = 1.5 / epoch;
    row.val_acc = val_acc;
    row.lr = 1e-3;
    row.seconds = 2.0;
    row.images_per_second = 100.0 * epoch;
    return row;
  }

  fs::path dir_;
  std::string db_path_;
};

}  // namespace tlr::testing
