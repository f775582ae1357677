#include "core/run/result_sources.h"

#include <algorithm>
#include <filesystem>

#include "tlr/error.h"

namespace tlr {

namespace fs = std::filesystem;

ResultSources::ResultSources(std::vector<std::string> paths) : paths_(std::move(paths)) {}

const std::vector<std::string>& ResultSources::files() {
  if (listed_) return files_;
  listed_ = true;
  for (const std::string& path : paths_) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path, ec)) {
        if (entry.is_regular_file(ec) && entry.path().extension() == ".db") {
          found.push_back(entry.path().string());
        }
      }
      std::sort(found.begin(), found.end());  // the order lookups try them in: fixed
      files_.insert(files_.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, ec)) {
      files_.push_back(path);
    }
  }
  return files_;
}

void ResultSources::open_all() {
  if (opened_) return;
  opened_ = true;
  for (const std::string& file : files()) stores_.push_back(Store::open_immutable(file));
}

std::optional<ResultSources::Found> ResultSources::completed_run(const std::string& identity) {
  open_all();
  for (const Store& store : stores_) {
    if (auto id = store.completed_run(identity)) return Found{store.path(), *id};
  }
  return std::nullopt;
}

std::optional<std::pair<std::string, CellState>> ResultSources::cell_state(
    const std::string& identity) {
  open_all();
  std::optional<std::pair<std::string, CellState>> newest;
  std::string newest_start;
  for (const Store& store : stores_) {
    const std::optional<CellState> state = store.cell_state(identity);
    if (!state) continue;
    const std::string started = store.summary(state->run_id).started_at;
    if (!newest || started > newest_start) {
      newest = std::make_pair(store.path(), *state);
      newest_start = started;
    }
  }
  return newest;
}

RunSummary ResultSources::summary(const Found& found) {
  open_all();
  for (const Store& store : stores_) {
    if (store.path() == found.db) return store.summary(found.run_id);
  }
  throw Error(found.db + ": error: not among the databases looked up");
}

std::vector<Artifact> ResultSources::artifacts(const Found& found) {
  open_all();
  for (const Store& store : stores_) {
    if (store.path() == found.db) return store.artifacts(found.run_id);
  }
  throw Error(found.db + ": error: not among the databases looked up");
}

}  // namespace tlr
