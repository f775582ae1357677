// The comparison statistics of recorded runs (comparison.h), read from results.db: each run's
// per-sample test predictions (table predictions) grouped by model and paired by replicate.
//
// Baselines: `compare_to` names a model as written in the YAML (runs.model without a matrix
// suffix). A model "M@v" (a matrix cell) is compared with "<compare_to>@v" when that model is
// among the rows, else with "<compare_to>"; a model "M" with "<compare_to>". A model is not its
// own baseline's comparison. An empty `compare_to` means the default: the first model in `rows`
// whose strategy is 'scratch' (written name); no scratch model, no comparisons.
#pragma once

#include <string>
#include <vector>

#include "core/stats/comparison.h"
#include "core/store/store.h"

namespace tlr::stats {

// The baseline model name the default rule picks for `rows` ("" when none).
std::string default_compare_to(const std::vector<RunSummary>& rows);

// Statistics of the models of `rows` (several rows of one model are its replicates; rows not
// completed are left out), in the order the models first appear. Throws tlr::Error from the store.
std::vector<ModelStatistics> statistics_of_runs(const Store& store,
                                                const std::vector<RunSummary>& rows,
                                                const std::string& compare_to);

}  // namespace tlr::stats
