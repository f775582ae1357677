// The validation probe: before any data or weight file is read, every model is built and its
// strategy run once on a ProbeCell (see Cell in tlr/strategy.h): random initial weights, two zero
// images per split, one training step, one evaluation pass, nothing recorded. What fails there
// (an unknown block name, a head that cannot take the backbone's output, channels the backbone
// does not expect, a BatchNorm head whose last batch would hold one image, any libtorch error)
// becomes a diagnostic at the line:column of the value at fault, or of the model's entry.
//
// Cost: building each model plus one step on a batch of two; no file is read or written.
#pragma once

#include <string>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/plan.h"
#include "tlr/params.h"
#include "tlr/registry.h"

namespace tlr {

struct ProbeOptions {
  std::vector<std::size_t> models;  // indexes into plan.models; empty: every model
  std::string device;               // --device, "" = each model's own
};

// The problems of the probed models, in plan order. Restores libtorch's global RNG afterwards, so
// probing does not change a run's numbers.
std::vector<config::Diagnostic> probe_models(const config::Plan& plan, const Registry& registry,
                                             const Context& context, const ProbeOptions& options);

}  // namespace tlr
