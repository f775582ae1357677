// The features a frozen backbone computes for a split: what feature_extraction trains on and what
// the feature cache stores.
#pragma once

#include <functional>
#include <string>

#include "engine/data/feature_cache.h"
#include "tlr/backbone.h"
#include "tlr/precision.h"
#include "tlr/strategy.h"

namespace tlr {

// Runs `backbone` in inference mode (eval(), no autograd; its previous mode is restored) over one
// pass of `images`, on `device`, in `precision` (bf16: under autocast), and returns the outputs as
// fp32 and the labels, concatenated in batch order, on the CPU. `between_batches` runs before each
// batch and may throw to stop (Ctrl-C). Throws tlr::Error("the <split> split is empty") when the
// pass yields no batch. Single-threaded.
FeatureSet extract_features(Backbone& backbone, Batches& images, torch::Device device,
                            Precision precision, const std::string& split,
                            const std::function<void()>& between_batches = {});

}  // namespace tlr
