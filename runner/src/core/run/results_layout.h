// Where a run's files live under the results folder (`--results`, default results/). The one
// place that knows the layout, so that `run`, `preview-augment` and the report agree:
//
//   <results>/<experiment>/report.html                  the experiment's report
//   <results>/<experiment>/<model>/split.json           the file lists of each split
//   <results>/<experiment>/<model>/run-<id>-<identity>/  one run's files: model.pth and
//                                                       model.json, the kept model and its
//                                                       description (engine/train/model_export.h)
//   <results>/<experiment>/<model>/augment_preview.png  preview-augment's default output
//   <results>/<experiment>/slurm/                      runner submit's batch scripts, logs/ and
//                                                       submission.json (the job ids)
//   <results>/<experiment>/shards/<model>.db           a Slurm task's results, until merged
//   <results>/checkpoints/<cell identity>/fit-<k>.pt    a running cell's checkpoint of its k-th
//                                                       fit (removed when the cell completes)
//   <cache>/weights/<cell identity>.pt                  published weights (content-addressed)
//   <cache>/features/..., <cache>/images/...            feature and decoded-image caches
//
// <cache> is <results>/cache unless given. Experiment and model names become file names through
// safe_name(); matrix names ("vgg@500") keep their '@'.
#pragma once

#include <cstdint>
#include <string>

namespace tlr {

// `name` with every character other than letters, digits and - _ . @ replaced by '_'.
std::string safe_name(const std::string& name);

class ResultsLayout {
 public:
  // `cache_dir` "" means <results_dir>/cache.
  ResultsLayout(std::string results_dir, std::string cache_dir = "");

  const std::string& results_dir() const { return results_dir_; }
  const std::string& cache_dir() const { return cache_dir_; }
  std::string experiment_dir(const std::string& experiment) const;
  std::string model_dir(const std::string& experiment, const std::string& model) const;
  // The files of one run: <model_dir>/run-<run id>-<first 8 hex digits of its cell identity>
  // (run-<run id> without one). A later run never writes into an earlier run's folder, so every
  // artifact row keeps pointing at the file it recorded. A Slurm task numbers runs in its own
  // shard, and the identity keeps two shards' runs apart.
  std::string run_dir(const std::string& experiment, const std::string& model, std::int64_t run_id,
                      const std::string& identity) const;
  std::string split_lists(const std::string& experiment, const std::string& model) const;
  std::string augment_preview(const std::string& experiment, const std::string& model) const;
  // The weights a model publishes, addressed by its cell identity (cell_identity.h): an identical
  // cell finds the file its earlier run wrote.
  std::string published_weights(const std::string& identity) const;
  // Where a cell keeps its checkpoints while it runs (one file per Cell::fit call).
  std::string checkpoint_dir(const std::string& identity) const;
  std::string features_dir() const;
  std::string slurm_dir(const std::string& experiment) const;
  std::string shards_dir(const std::string& experiment) const;

 private:
  std::string results_dir_;
  std::string cache_dir_;
};

}  // namespace tlr
