// The files and folders a plan reads, checked to exist before anything runs: `runner run` refuses
// a missing data folder or weight file with one located line and exit 2, instead of starting,
// recording a failed run per cell and exiting 1. `runner validate` does not check them (a file is
// valid on a machine that lacks its data: a cluster's login node, a checkout without the photos).
//
// Which values are paths: a plugin's params schema marks them, `"x-tlr-path": "directory"` or
// `"file"` on a string property (the bundled datasets' `root`, torchscript's `file`); the core keys
// `backbone.weights` (a string) and `backbone.weights.file` are files. Relative paths resolve
// against the experiment file's folder (Context::resolve), as the plugins resolve them.
//
// Cost: one stat per path and model; no file is opened. Thread-safe (reads only its arguments).
#pragma once

#include <cstddef>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/plan.h"
#include "tlr/params.h"
#include "tlr/registry.h"

namespace tlr {

// A diagnostic at the value of every path of the chosen models (plan order; empty: all) that does
// not exist or is not of its kind, e.g.
//   exp.yaml:5:38: error: no such folder '/data/photos' (data.dataset.params.root)
// Equal lines (one path shared by many models) are reported once.
std::vector<config::Diagnostic> missing_input_paths(const config::Plan& plan,
                                                    const Registry& registry,
                                                    const Context& context,
                                                    const std::vector<std::size_t>& models);

}  // namespace tlr
