// How runner submit lays an experiment out for Slurm, without a cluster: the `slurm:` sections
// (not part of a model's identity), the job arrays and their dependencies, and the batch scripts
// (valid bash; a task run here, outside Slurm, moves its shard into the shards folder).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/config/document.h"
#include "core/config/plan.h"
#include "core/slurm/batch_scripts.h"
#include "core/slurm/job_arrays.h"
#include "e2e/runner_process.h"

namespace tlr::slurm {
namespace {

namespace fs = std::filesystem;

class Submission : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tlr_submission_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  config::Resolution resolve(const std::string& yaml) {
    const std::string file = (dir_ / "exp.yaml").string();
    std::ofstream(file) << yaml;
    return config::resolve(config::load(file, {}, "schemas/experiment.schema.json"), nullptr);
  }

  fs::path dir_;
};

// A publisher (source) with two loaders, a plain model, a second publisher with one loader.
const char* const kPublishing = R"(experiment: exp
defaults:
  data:
    dataset: {plugin: idx, params: {root: /data}}
  backbone: {plugin: vgg}
  head: {plugin: dense}
models:
  - name: source
    strategy: {plugin: scratch}
    publish: w1
  - name: frozen
    strategy: {plugin: frozen}
    backbone: {plugin: vgg, weights: {published: w1}}
  - name: fine_tune
    strategy: {plugin: fine_tune}
    backbone: {plugin: vgg, weights: {published: w1}}
  - name: scratch
    strategy: {plugin: scratch}
  - name: source2
    strategy: {plugin: scratch}
    publish: w2
  - name: frozen2
    strategy: {plugin: frozen}
    backbone: {plugin: vgg, weights: {published: w2}}
)";

std::vector<Resources> same_resources(const config::Plan& plan) {
  return std::vector<Resources>(plan.models.size(), Resources{});
}

std::vector<std::string> names_of(const config::Plan& plan, const JobArray& array) {
  std::vector<std::string> names;
  for (std::size_t cell : array.cells) names.push_back(plan.models[cell].name);
  return names;
}

TEST_F(Submission, ALoaderWaitsForItsPublishersTaskAlone) {
  const config::Resolution r = resolve(kPublishing);
  ASSERT_TRUE(r.diagnostics.empty()) << config::format_diagnostics(r.diagnostics);
  const std::vector<JobArray> arrays =
      job_arrays(r.plan, {0, 1, 2, 3, 4, 5}, same_resources(r.plan));
  ASSERT_EQ(arrays.size(), 3u);
  EXPECT_EQ(names_of(r.plan, arrays[0]),
            (std::vector<std::string>{"source", "scratch", "source2"}));
  EXPECT_FALSE(arrays[0].waits_for.has_value());
  EXPECT_EQ(names_of(r.plan, arrays[1]), (std::vector<std::string>{"frozen", "fine_tune"}));
  ASSERT_TRUE(arrays[1].waits_for.has_value());
  EXPECT_EQ(arrays[1].waits_for->array, 0u);
  EXPECT_EQ(arrays[1].waits_for->task, 0u);
  EXPECT_EQ(names_of(r.plan, arrays[2]), (std::vector<std::string>{"frozen2"}));
  ASSERT_TRUE(arrays[2].waits_for.has_value());
  EXPECT_EQ(arrays[2].waits_for->task, 2u) << "source2 is task 2 of the first array";
}

TEST_F(Submission, ALoaderWhosePublisherCompletedWaitsForNothing) {
  const config::Resolution r = resolve(kPublishing);
  ASSERT_TRUE(r.diagnostics.empty());
  // source and source2 completed earlier: not pending.
  const std::vector<JobArray> arrays = job_arrays(r.plan, {1, 2, 3, 5}, same_resources(r.plan));
  ASSERT_EQ(arrays.size(), 1u);
  EXPECT_EQ(names_of(r.plan, arrays[0]),
            (std::vector<std::string>{"frozen", "fine_tune", "scratch", "frozen2"}));
  EXPECT_FALSE(arrays[0].waits_for.has_value());
}

TEST_F(Submission, ModelsAskingForOtherResourcesGetTheirOwnArray) {
  const config::Resolution r = resolve(std::string(kPublishing) + R"(slurm:
  partition: cpu
  time: "02:00:00"
  max_parallel: 4
)");
  ASSERT_TRUE(r.diagnostics.empty()) << config::format_diagnostics(r.diagnostics);
  std::vector<Resources> resources;
  for (const auto& model : r.plan.models) {
    resources.push_back(with_section(with_section(Resources{}, r.plan.slurm), model.slurm));
  }
  resources[3].gres = "gpu:1";  // scratch on a GPU
  const std::vector<JobArray> arrays = job_arrays(r.plan, {0, 3, 4}, resources);
  ASSERT_EQ(arrays.size(), 2u);
  EXPECT_EQ(names_of(r.plan, arrays[0]), (std::vector<std::string>{"source", "source2"}));
  EXPECT_EQ(names_of(r.plan, arrays[1]), (std::vector<std::string>{"scratch"}));
  EXPECT_EQ(arrays[0].resources.partition, "cpu");
  EXPECT_EQ(arrays[0].resources.time, "02:00:00");
}

TEST_F(Submission, SlurmSectionsAreNotPartOfTheResolvedModel) {
  const config::Resolution plain = resolve(kPublishing);
  std::string with = kPublishing;
  with.replace(with.find("  - name: scratch\n"), std::string("  - name: scratch\n").size(),
               "  - name: scratch\n    slurm: {cpus_per_task: 8, gres: \"gpu:1\", mem: 16G}\n");
  with += "slurm: {partition: long, grace: 300, sbatch_args: [--account=lab]}\n";
  const config::Resolution r = resolve(with);
  ASSERT_TRUE(r.diagnostics.empty()) << config::format_diagnostics(r.diagnostics);
  ASSERT_EQ(r.plan.models.size(), plain.plan.models.size());
  for (std::size_t i = 0; i < r.plan.models.size(); ++i) {
    EXPECT_EQ(r.plan.models[i].hash, plain.plan.models[i].hash) << r.plan.models[i].name;
    EXPECT_FALSE(r.plan.models[i].json.contains("slurm"));
  }
  const Resources scratch =
      with_section(with_section(Resources{}, r.plan.slurm), r.plan.models[3].slurm);
  EXPECT_EQ(scratch.partition, "long");
  EXPECT_EQ(scratch.cpus_per_task, 8);
  EXPECT_EQ(scratch.gres, "gpu:1");
  EXPECT_EQ(scratch.mem, "16G");
  EXPECT_EQ(scratch.grace, 300);
  EXPECT_EQ(scratch.sbatch_args, std::vector<std::string>{"--account=lab"});
}

TEST_F(Submission, ABadSlurmKeyIsReportedAtItsLine) {
  const config::Resolution r =
      resolve(std::string(kPublishing) + "slurm:\n  partition: cpu\n  nodes: 2\n  time: soon\n");
  const std::string text = config::format_diagnostics(r.diagnostics);
  EXPECT_NE(text.find("exp.yaml:27:3: error: unknown key 'nodes' in slurm\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("exp.yaml:28:9: error: 'time' must match"), std::string::npos) << text;
}

ScriptContext context_in(const fs::path& dir) {
  ScriptContext context;
  context.experiment = "exp";
  context.runner = "/bin/echo";
  context.file = (dir / "exp.yaml").string();
  context.results_dir = (dir / "results").string();
  context.db = (dir / "results" / "results.db").string();
  context.slurm_dir = (dir / "results" / "exp" / "slurm").string();
  context.shards_dir = (dir / "results" / "exp" / "shards").string();
  context.run_args = {"--set", "models.it's.training.epochs=1"};
  context.max_parallel = 4;
  context.written_at = "2026-12-02T00:00:00Z";
  return context;
}

TEST_F(Submission, TaskScriptsAreValidBashThatAskForRequeueAndTheWarningSignal) {
  const config::Resolution r = resolve(kPublishing);
  ASSERT_TRUE(r.diagnostics.empty());
  const std::vector<JobArray> arrays =
      job_arrays(r.plan, {0, 1, 2, 3, 4, 5}, same_resources(r.plan));
  std::vector<std::string> names;
  for (const auto& m : r.plan.models) names.push_back(m.name);
  names[3] = "it's#1";  // a name a shell would split or unquote
  const ScriptContext context = context_in(dir_);
  for (std::size_t k = 0; k < arrays.size(); ++k) {
    const std::string script = task_script(context, arrays, k, names);
    const fs::path path = dir_ / ("array-" + std::to_string(k + 1) + ".sh");
    std::ofstream(path) << script;
    const int status = std::system(("bash -n " + testing::shell_quote(path.string())).c_str());
    EXPECT_EQ(status, 0) << script;
    EXPECT_NE(script.find("#SBATCH --requeue\n"), std::string::npos);
    EXPECT_NE(script.find("#SBATCH --signal=B:USR1@120\n"), std::string::npos);
    EXPECT_NE(
        script.find("#SBATCH --array=0-" + std::to_string(arrays[k].cells.size() - 1) + "%4\n"),
        std::string::npos)
        << script;
  }
  EXPECT_NE(task_script(context, arrays, 0, names).find("'it'\\''s#1'"), std::string::npos);
  const std::string merge = merge_script(context, Resources{});
  EXPECT_NE(merge.find("merge '" + context.shards_dir + "' --into '" + context.db + "'"),
            std::string::npos)
      << merge;
}

TEST_F(Submission, ATaskOutsideSlurmRunsItsCellAndMovesItsShardIn) {
  // The runner replaced by a script that records its arguments and writes the shard it is given.
  const fs::path fake = dir_ / "fake_runner.sh";
  std::ofstream(fake) << "#!/bin/bash\n"
                         "echo \"$@\" > "
                      << testing::shell_quote((dir_ / "args.txt").string())
                      << "\nwhile [ $# -gt 0 ]; do [ \"$1\" = --db ] && echo shard > \"$2\"; "
                         "shift; done\nexit 0\n";
  fs::permissions(fake, fs::perms::owner_all);
  const config::Resolution r = resolve(kPublishing);
  ASSERT_TRUE(r.diagnostics.empty());
  const std::vector<JobArray> arrays = job_arrays(r.plan, {0, 3}, same_resources(r.plan));
  std::vector<std::string> names;
  for (const auto& m : r.plan.models) names.push_back(m.name);
  ScriptContext context = context_in(dir_);
  context.runner = fake.string();
  const fs::path script = dir_ / "array-1.sh";
  std::ofstream(script) << task_script(context, arrays, 0, names);
  const testing::Outcome o = testing::run_shell(
      "env -u SLURM_JOB_ID SLURM_ARRAY_TASK_ID=1 TMPDIR=" + testing::shell_quote(dir_.string()) +
          " bash " + testing::shell_quote(script.string()),
      dir_);
  ASSERT_EQ(o.exit_code, 0) << testing::describe(o);
  const std::string args = testing::read_file(dir_ / "args.txt");
  EXPECT_NE(args.find("run " + context.file + " --only scratch"), std::string::npos) << args;
  EXPECT_NE(args.find("--task-shard"), std::string::npos) << args;
  EXPECT_NE(args.find("--completed-from " + context.db + " --completed-from " + context.shards_dir),
            std::string::npos)
      << args;
  EXPECT_EQ(testing::read_file(fs::path(context.shards_dir) / "scratch.db"), "shard\n");
  // Nothing left in the task's local folder.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().rfind("tlr-shard-", 0), std::string::npos)
        << entry.path();
  }
}

}  // namespace
}  // namespace tlr::slurm
