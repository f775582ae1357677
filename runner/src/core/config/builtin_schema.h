// The experiment schema the runner checks files against, built into the runner.
#pragma once

#include <string_view>

namespace tlr::config {

// The text of schemas/experiment.schema.json as it was when the runner was built (a source
// generated from the file at build time by cmake/TlrEmbedFile.cmake; editing the file rebuilds
// it), so that an installed or moved runner needs no schema file.
std::string_view builtin_experiment_schema();

}  // namespace tlr::config
