// What a run's numbers are, to compare two runs bit for bit: the resume tests (a resumed run
// against an uninterrupted one) and the Slurm tests (a submitted and merged experiment against a
// local run).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/store/store.h"

namespace tlr::testing::e2e {

struct CellNumbers {
  std::vector<tlr::EpochRow> epochs;
  std::vector<std::pair<std::string, double>> test;
};

// Every model's epoch rows and test metrics, from the newest run of each model of `experiment`.
inline std::map<std::string, CellNumbers> numbers_of(const std::filesystem::path& db,
                                                     const std::string& experiment) {
  tlr::Store store = tlr::Store::open(db.string());
  std::map<std::string, CellNumbers> out;
  for (const auto& run : store.summaries(experiment)) {
    out[run.model] = {store.epochs(run.run_id), store.metrics(run.run_id, "test")};
  }
  return out;
}

// EXPECT_EQ on doubles is exact: these are bit-for-bit comparisons (NaN aside, which no run here
// records).
inline void expect_same_numbers(const std::map<std::string, CellNumbers>& expected,
                                const std::map<std::string, CellNumbers>& actual) {
  ASSERT_EQ(expected.size(), actual.size());
  for (const auto& [model, want] : expected) {
    SCOPED_TRACE("model " + model);
    ASSERT_EQ(actual.count(model), 1u);
    const CellNumbers& got = actual.at(model);
    ASSERT_EQ(want.epochs.size(), got.epochs.size());
    for (std::size_t i = 0; i < want.epochs.size(); ++i) {
      SCOPED_TRACE("epoch row " + std::to_string(i));
      EXPECT_EQ(want.epochs[i].phase, got.epochs[i].phase);
      EXPECT_EQ(want.epochs[i].epoch, got.epochs[i].epoch);
      EXPECT_EQ(want.epochs[i].train_loss, got.epochs[i].train_loss);
      EXPECT_EQ(want.epochs[i].train_acc, got.epochs[i].train_acc);
      EXPECT_EQ(want.epochs[i].val_loss, got.epochs[i].val_loss);
      EXPECT_EQ(want.epochs[i].val_acc, got.epochs[i].val_acc);
      EXPECT_EQ(want.epochs[i].lr, got.epochs[i].lr);
    }
    EXPECT_EQ(want.test, got.test);
  }
}

}  // namespace tlr::testing::e2e
