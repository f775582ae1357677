// A model a run trained, found in the results database and rebuilt for use: what `runner
// predict`, `runner evaluate` and `runner export` share.
//
// The run's model.json (engine/train/model_export.h) says how: the backbone and head are built
// again by their plugins from the recorded parameters, the backbone cut to the recorded blocks,
// and model.pth loaded into them by name (all or nothing). The weights file must still be the one
// the run recorded (its sha256 in the artifacts table): a file changed since is refused.
//
// Errors are tlr::Error, one line naming the run or the file: no such run, a run that is not
// completed, a run without a saved model (recorded before runs kept one), a model that does not
// take images, a plugin that is not found.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/store/store.h"
#include "engine/data/input_spec.h"
#include "engine/train/output_mode.h"
#include "tlr/precision.h"
#include "tlr/registry.h"
#include "tlr/strategy.h"

namespace tlr {

// --run ID, or --experiment E --model M: the latest completed run of M in E.
struct RunChoice {
  std::optional<std::int64_t> run_id;
  std::string experiment;
  std::string model;
};

struct TrainedRun {
  std::int64_t run_id = 0;
  std::string experiment, model;
  std::string experiment_file;  // the YAML the run came from (relative paths resolve against it)
  std::string weights;          // model.pth, as recorded
  std::string weights_sha256;   // as recorded
  std::string description;      // model.json, as recorded
  int batch_size = 32;          // the run's training.batch_size (its test batches)
};

// Throws tlr::Error "<db>: error: ..." when the choice names no completed run with a saved model.
TrainedRun find_trained_run(const Store& store, const RunChoice& choice);

struct TrainedModel {
  std::shared_ptr<Classifier> classifier;  // in inference mode, on the CPU
  nlohmann::json description;              // model.json
  std::vector<std::string> classes;
  OutputMode mode = OutputMode::softmax;
  InputSpec input;
  Precision precision = Precision::fp32;  // what the run tested in
};

// Reads model.json, checks model.pth against the recorded sha256, rebuilds and loads the model.
TrainedModel load_trained_model(const Registry& registry, const TrainedRun& run,
                                const std::string& cache_dir);

// model.json of a run, parsed; throws tlr::Error naming the file when it is missing or not a
// tlr-model description.
nlohmann::json read_model_description(const std::string& path);

}  // namespace tlr
