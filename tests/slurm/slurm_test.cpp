// The matrix on a real Slurm (issue 18): a one-node cluster on localhost (scripts/slurm-up.sh,
// started here when it is not up), `runner submit` of five_models.yaml on tiny data, the tasks'
// shards merged by the merge job, a requeue mid-training that resumes bit for bit, and a failed
// cell that leaves the others and the merge running.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "e2e/cell_numbers.h"
#include "e2e/e2e_support.h"
#include "e2e/runner_process.h"

namespace {

namespace fs = std::filesystem;
using tlr::testing::describe;
using tlr::testing::Outcome;
using tlr::testing::read_file;
using tlr::testing::run_shell;
using tlr::testing::runner;
using tlr::testing::shell_quote;
using tlr::testing::TempDir;
using namespace tlr::testing::e2e;  // NOLINT(google-build-using-namespace): the shared helpers

// Why the cluster is not usable ("" when it is): every test fails with it rather than skip.
std::string& cluster_problem() {
  static std::string problem;
  return problem;
}

class SlurmCluster : public ::testing::Environment {
 public:
  void SetUp() override {
    TempDir tmp;
    const Outcome up =
        run_shell("cd " + shell_quote(TLR_SOURCE_DIR) + " && scripts/slurm-up.sh", tmp.path());
    if (up.exit_code != 0) {
      cluster_problem() = "scripts/slurm-up.sh failed:\n" + describe(up);
      return;
    }
    std::smatch conf;
    const std::regex exported("export SLURM_CONF=(\\S+)");
    if (!std::regex_search(up.out, conf, exported)) {
      cluster_problem() = "scripts/slurm-up.sh printed no SLURM_CONF:\n" + describe(up);
      return;
    }
    setenv("SLURM_CONF", conf[1].str().c_str(), 1);
  }
};

const auto* const kCluster = ::testing::AddGlobalTestEnvironment(new SlurmCluster);

Outcome shell(const std::string& command, const TempDir& tmp) {
  return run_shell(command, tmp.path());
}

// The tiny five_models.yaml of the resume tests (3 epochs, batches of 4), data in `tmp`.
std::vector<std::string> tiny_sets(const TempDir& tmp, const std::vector<std::string>& more = {}) {
  std::vector<std::string> sets = {
      "*.training.epochs=3",
      "*.training.steps_per_epoch=0",
      "*.training.batch_size=4",
      "*.training.early_stopping.patience=0",
      "*.data.split.per_class={train: 4, val: 2, test: 2}",
      "defaults.data.dataset.params.root=" + (tmp / "fashion-mnist").string(),
      "replicates=1"};
  sets.insert(sets.end(), more.begin(), more.end());
  return sets;
}

std::vector<std::string> with_sets(std::vector<std::string> args,
                                   const std::vector<std::string>& sets) {
  for (const auto& set : sets) args.insert(args.end(), {"--set", set});
  return args;
}

// The same cells run locally, one process, 1 thread: what the cluster must reproduce.
std::map<std::string, CellNumbers> local_numbers(const std::vector<std::string>& sets,
                                                 const std::vector<std::string>& only = {}) {
  TempDir local;
  std::vector<std::string> args = with_sets({"experiments/five_models.yaml"}, sets);
  // The data lives in the submitting test's folder; the sets name it, so `local` only holds
  // the results.
  args.insert(args.end(), {"--db", (local / "results.db").string(), "--results",
                           (local / "results").string(), "--threads", "1", "--quiet"});
  if (!only.empty()) {
    args.emplace_back("--only");
    args.insert(args.end(), only.begin(), only.end());
  }
  const Outcome o = runner(args, local.path());
  EXPECT_EQ(o.exit_code, 0) << describe(o);
  return numbers_of(local / "results.db", "five_models");
}

std::vector<std::string> submit_args(const TempDir& tmp, const std::vector<std::string>& sets,
                                     const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = with_sets({"submit", "experiments/five_models.yaml"}, sets);
  args.insert(args.end(), {"--db", (tmp / "results.db").string(), "--results",
                           (tmp / "results").string(), "--cpus-per-task", "1"});
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

nlohmann::json submission_of(const TempDir& tmp) {
  std::ifstream in(tmp / "results" / "five_models" / "slurm" / "submission.json");
  return nlohmann::json::parse(in);
}

// Every job id of the submission, the merge job last.
std::vector<std::string> jobs_of(const TempDir& tmp) {
  const nlohmann::json submission = submission_of(tmp);
  std::vector<std::string> jobs;
  for (const auto& array : submission["arrays"]) jobs.push_back(array["job"]);
  jobs.push_back(submission["merge_job"]);
  return jobs;
}

std::string joined(const std::vector<std::string>& jobs) {
  std::string out;
  for (const auto& job : jobs) out += (out.empty() ? "" : ",") + job;
  return out;
}

// Waits until squeue lists none of `jobs` (all ended); false after `timeout`.
bool wait_for_jobs(const std::vector<std::string>& jobs, const TempDir& tmp,
                   std::chrono::seconds timeout = std::chrono::seconds(600)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const Outcome q = shell("squeue -h -j " + joined(jobs) + " -o %i", tmp);
    if (q.exit_code == 0 && q.out.find_first_not_of(" \n") == std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  return false;
}

// Waits until `file` contains `text`; false after `timeout`.
bool wait_for_text(const fs::path& file, const std::string& text, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(file) && read_file(file).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

// Every log the jobs wrote, for a failure message.
std::string logs_of(const TempDir& tmp) {
  std::string text;
  const fs::path logs = tmp / "results" / "five_models" / "slurm" / "logs";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(logs, ec)) {
    text += "--- " + entry.path().string() + "\n" + read_file(entry.path());
  }
  return text;
}

class Slurm : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_problem().empty()) << cluster_problem();
    write_fashion_mnist(tmp_);
  }
  TempDir tmp_;
};

TEST_F(Slurm, SubmittedExperimentMergesToTheNumbersOfALocalRun) {
  const std::vector<std::string> sets = tiny_sets(tmp_);
  const Outcome submit = runner(submit_args(tmp_, sets), tmp_.path());
  ASSERT_EQ(submit.exit_code, 0) << describe(submit);
  // The publisher's loaders wait for its task alone: two arrays, the second after it.
  const nlohmann::json submission = submission_of(tmp_);
  ASSERT_EQ(submission["arrays"].size(), 2u) << submission.dump(1);
  EXPECT_EQ(submission["arrays"][1]["cells"],
            nlohmann::json({"vgg_features", "vgg_frozen_aug", "vgg_fine_tune"}));
  EXPECT_NE(submit.out.find("after " + submission["arrays"][0]["job"].get<std::string>() + "_0"),
            std::string::npos)
      << submit.out;

  const std::map<std::string, CellNumbers> local = local_numbers(sets);
  ASSERT_TRUE(wait_for_jobs(jobs_of(tmp_), tmp_)) << logs_of(tmp_);
  const fs::path db = tmp_ / "results.db";
  ASSERT_EQ(query(db, "SELECT count(*) FROM runs WHERE status = 'completed'"), "6")
      << logs_of(tmp_);
  EXPECT_EQ(query(db, "SELECT count(*) FROM runs"), "6");
  EXPECT_EQ(query(db, "PRAGMA integrity_check"), "ok");
  expect_same_numbers(local, numbers_of(db, "five_models"));
  // Artifacts were written to the shared results folder, and their rows point there.
  EXPECT_EQ(query(db, "SELECT count(*) FROM artifacts WHERE kind = 'model'"), "6");
  const std::string model_pt = query(db, "SELECT path FROM artifacts WHERE kind = 'model' LIMIT 1");
  EXPECT_TRUE(fs::exists(model_pt)) << model_pt;
  // The merge job printed the comparison table.
  EXPECT_NE(logs_of(tmp_).find("vgg_fine_tune"), std::string::npos);

  // A second merge adds nothing, a second submit submits nothing, status says completed.
  const Outcome again = runner(
      {"merge", (tmp_ / "results" / "five_models" / "shards").string(), "--into", db.string()},
      tmp_.path());
  ASSERT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_NE(again.out.find("6 shards: 0 added, 0 updated, 6 unchanged"), std::string::npos)
      << again.out;
  const Outcome resubmit = runner(submit_args(tmp_, sets), tmp_.path());
  ASSERT_EQ(resubmit.exit_code, 0) << describe(resubmit);
  EXPECT_NE(resubmit.out.find("nothing to submit: 6 of 6 models completed"), std::string::npos)
      << resubmit.out;
  std::vector<std::string> status = with_sets({"status", "experiments/five_models.yaml"}, sets);
  status.insert(status.end(), {"--db", db.string(), "--results", (tmp_ / "results").string()});
  const Outcome st = runner(status, tmp_.path());
  EXPECT_NE(st.out.find("6 models: 6 completed"), std::string::npos) << describe(st);
}

// How a running task is stopped: Slurm's time-limit warning (USR1 to the batch shell, which the
// script passes on; the script requeues itself) or a requeue from outside (preemption: SIGTERM
// to every process of the job).
struct Stop {
  const char* command;  // %s: the task's job id
  const char* what;
};

class SlurmRequeue : public Slurm, public ::testing::WithParamInterface<Stop> {};

TEST_P(SlurmRequeue, TheRequeuedTaskResumesToTheNumbersOfAnUninterruptedOne) {
  // One cell long enough that the stop lands mid-training (seconds of training even on a fast
  // machine): 40 images a class, 100 epochs.
  write_idx(tmp_ / "fashion-mnist", "train", 40);
  const std::vector<std::string> sets = tiny_sets(
      tmp_, {"*.training.epochs=100", "*.data.split.per_class={train: 32, val: 8, test: 2}"});
  const Outcome submit = runner(submit_args(tmp_, sets, {"--only", "basic_cnn"}), tmp_.path());
  ASSERT_EQ(submit.exit_code, 0) << describe(submit);
  const std::vector<std::string> jobs = jobs_of(tmp_);
  const std::string task = jobs.front() + "_0";
  const fs::path log = tmp_ / "results" / "five_models" / "slurm" / "logs" /
                       ("tlr-five_models-1_" + jobs.front() + "_0.out");
  ASSERT_TRUE(wait_for_text(log, "epoch 2/100", std::chrono::seconds(300))) << logs_of(tmp_);
  std::string command = GetParam().command;
  command.replace(command.find("%s"), 2, task);
  const Outcome stop = shell(command, tmp_);
  ASSERT_EQ(stop.exit_code, 0) << GetParam().what << "\n" << describe(stop);
  // status names the task (requeued, pending or running again) while squeue knows it.
  std::vector<std::string> status = with_sets({"status", "experiments/five_models.yaml"}, sets);
  status.insert(status.end(),
                {"--db", (tmp_ / "results.db").string(), "--results", (tmp_ / "results").string()});
  const Outcome st = runner(status, tmp_.path());
  EXPECT_NE(st.out.find("job " + task + " "), std::string::npos) << describe(st);

  const std::map<std::string, CellNumbers> local = local_numbers(sets, {"basic_cnn"});
  ASSERT_TRUE(wait_for_jobs(jobs, tmp_)) << logs_of(tmp_);
  const fs::path db = tmp_ / "results.db";
  ASSERT_EQ(query(db, "SELECT status FROM runs"), "completed") << logs_of(tmp_);
  EXPECT_EQ(query(db, "SELECT resumes FROM runs"), "1") << logs_of(tmp_);
  expect_same_numbers(local, numbers_of(db, "five_models"));
}

INSTANTIATE_TEST_SUITE_P(ByTheScriptOrFromOutside, SlurmRequeue,
                         ::testing::Values(Stop{"scancel --signal=USR1 --batch %s",
                                                "the time-limit warning"},
                                           Stop{"scontrol requeue %s", "a requeue from outside"}));

TEST_F(Slurm, AFailedCellIsRecordedWithItsReasonAndTheOthersAndTheMergeStillRun) {
  // basic_cnn_aug reads a copy of the data that is gone by the time its task starts (held until
  // the copy is deleted).
  const fs::path gone = tmp_ / "gone";
  write_idx(gone, "train", 6);
  write_idx(gone, "t10k", 2);
  const std::vector<std::string> sets =
      tiny_sets(tmp_, {"models.basic_cnn_aug.data.dataset.params.root=" + gone.string()});
  const Outcome submit = runner(
      submit_args(tmp_, sets, {"--only", "basic_cnn", "basic_cnn_aug", "--sbatch-arg=--hold"}),
      tmp_.path());
  ASSERT_EQ(submit.exit_code, 0) << describe(submit);
  fs::remove_all(gone);
  const std::vector<std::string> jobs = jobs_of(tmp_);
  const Outcome release = shell("scontrol release " + joined(jobs), tmp_);
  ASSERT_EQ(release.exit_code, 0) << describe(release);

  ASSERT_TRUE(wait_for_jobs(jobs, tmp_)) << logs_of(tmp_);
  const fs::path db = tmp_ / "results.db";
  EXPECT_EQ(query(db, "SELECT status FROM runs WHERE model = 'basic_cnn'"), "completed")
      << logs_of(tmp_);
  EXPECT_EQ(query(db, "SELECT status FROM runs WHERE model = 'basic_cnn_aug'"), "failed")
      << logs_of(tmp_);
  EXPECT_NE(query(db, "SELECT error FROM runs WHERE model = 'basic_cnn_aug'").find(gone.string()),
            std::string::npos)
      << query(db, "SELECT error FROM runs WHERE model = 'basic_cnn_aug'");
}

TEST_F(Slurm, WithoutSbatchSubmitSaysWhereToRunItAndExits2) {
  const std::vector<std::string> sets = tiny_sets(tmp_);
  std::string command =
      "cd " + shell_quote(TLR_SOURCE_DIR) + " && env PATH=/nonexistent " + shell_quote(TLR_RUNNER);
  for (const auto& arg : submit_args(tmp_, sets)) command += " " + shell_quote(arg);
  const Outcome o = run_shell(command, tmp_.path());
  EXPECT_EQ(o.exit_code, 2) << describe(o);
  EXPECT_NE(o.err.find("runner submit: error: sbatch not found on PATH: submit from a Slurm "
                       "login node"),
            std::string::npos)
      << describe(o);
}

}  // namespace
