#include "core/stats/store_statistics.h"

#include <algorithm>
#include <map>

#include "engine/util/sha256.h"

namespace tlr::stats {
namespace {

// "vgg@25@x" -> "vgg" and "@25@x"; "vgg" -> "vgg" and "".
std::pair<std::string, std::string> split_matrix_suffix(const std::string& model) {
  const std::size_t at = model.find('@');
  if (at == std::string::npos) return {model, ""};
  return {model.substr(0, at), model.substr(at)};
}

}  // namespace

std::string default_compare_to(const std::vector<RunSummary>& rows) {
  for (const RunSummary& row : rows) {
    if (row.strategy == "scratch") return split_matrix_suffix(row.model).first;
  }
  return "";
}

std::vector<ModelStatistics> statistics_of_runs(const Store& store,
                                                const std::vector<RunSummary>& rows,
                                                const std::string& compare_to) {
  const std::string baseline_name = compare_to.empty() ? default_compare_to(rows) : compare_to;
  std::vector<ModelResults> models;
  std::map<std::string, std::size_t> index;  // model -> position in models
  for (const RunSummary& row : rows) {
    auto [it, added] = index.emplace(row.model, models.size());
    if (added) {
      ModelResults m;
      m.model = row.model;
      models.push_back(std::move(m));
    }
    if (row.status != RunStatus::kCompleted) continue;
    const std::vector<Prediction> predictions = store.predictions(row.run_id, "test");
    if (predictions.empty()) continue;  // recorded before predictions existed
    ReplicateResult r;
    r.run_id = row.run_id;
    r.replicate = row.replicate;
    r.f1 = row.test_f1.value_or(0);
    std::string key;
    for (const Prediction& p : predictions) {
      r.labels.push_back(p.true_label);
      r.predicted.push_back(p.predicted_label);
      key += p.sample_id + '\t' + std::to_string(p.true_label) + '\n';
    }
    ModelResults& m = models[it->second];
    const std::string test_set = sha256_hex(key.data(), key.size());
    // Replicates of one model share their test images; a differing one would be a bug upstream.
    if (m.test_set.empty()) m.test_set = test_set;
    m.replicates.push_back(std::move(r));
  }
  for (ModelResults& m : models) {
    std::sort(m.replicates.begin(), m.replicates.end(),
              [](const ReplicateResult& a, const ReplicateResult& b) {
                return a.replicate < b.replicate;
              });
    if (baseline_name.empty()) continue;
    const auto [written, suffix] = split_matrix_suffix(m.model);
    std::string baseline = baseline_name;
    if (!suffix.empty() && index.count(baseline_name + suffix) > 0) baseline += suffix;
    if (suffix.empty() && index.count(baseline) == 0) {
      // A stage outside the matrix (the source pretraining) next to the baseline's matrix cells:
      // its comparison is with the first of them, so its note says what differs.
      for (const ModelResults& other : models) {
        if (other.model.rfind(baseline_name + "@", 0) == 0) {
          baseline = other.model;
          break;
        }
      }
    }
    if (baseline == m.model) {
      m.is_baseline = true;
    } else {
      m.baseline = baseline;  // compare_models notes a baseline without runs or other test images
    }
  }
  return compare_models(models);
}

}  // namespace tlr::stats
