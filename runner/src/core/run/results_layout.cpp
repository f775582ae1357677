#include "core/run/results_layout.h"

#include <cctype>
#include <filesystem>
#include <utility>

namespace tlr {

namespace fs = std::filesystem;

std::string safe_name(const std::string& name) {
  std::string out = name;
  for (char& c : out) {
    const bool kept = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                      c == '.' || c == '@' || c == '#';
    if (!kept) c = '_';
  }
  return out;
}

ResultsLayout::ResultsLayout(std::string results_dir, std::string cache_dir)
    : results_dir_(std::move(results_dir)),
      cache_dir_(cache_dir.empty() ? (fs::path(results_dir_) / "cache").string()
                                   : std::move(cache_dir)) {}

std::string ResultsLayout::experiment_dir(const std::string& experiment) const {
  return (fs::path(results_dir_) / safe_name(experiment)).string();
}

std::string ResultsLayout::model_dir(const std::string& experiment,
                                     const std::string& model) const {
  return (fs::path(experiment_dir(experiment)) / safe_name(model)).string();
}

std::string ResultsLayout::run_dir(const std::string& experiment, const std::string& model,
                                   std::int64_t run_id, const std::string& identity) const {
  std::string name = "run-" + std::to_string(run_id);
  if (!identity.empty()) name += "-" + safe_name(identity.substr(0, 8));
  return (fs::path(model_dir(experiment, model)) / name).string();
}

std::string ResultsLayout::split_lists(const std::string& experiment,
                                       const std::string& model) const {
  return (fs::path(model_dir(experiment, model)) / "split.json").string();
}

std::string ResultsLayout::augment_preview(const std::string& experiment,
                                           const std::string& model) const {
  return (fs::path(model_dir(experiment, model)) / "augment_preview.png").string();
}

std::string ResultsLayout::published_weights(const std::string& identity) const {
  return (fs::path(cache_dir_) / "weights" / (identity + ".pt")).string();
}

std::string ResultsLayout::checkpoint_dir(const std::string& identity) const {
  return (fs::path(results_dir_) / "checkpoints" / identity).string();
}

std::string ResultsLayout::features_dir() const {
  return (fs::path(cache_dir_) / "features").string();
}

std::string ResultsLayout::slurm_dir(const std::string& experiment) const {
  return (fs::path(experiment_dir(experiment)) / "slurm").string();
}

std::string ResultsLayout::shards_dir(const std::string& experiment) const {
  return (fs::path(experiment_dir(experiment)) / "shards").string();
}

}  // namespace tlr
