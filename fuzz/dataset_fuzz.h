// The dataset plugins' targets (idx, cifar10): the plugin's source is compiled into the target;
// its registration runs into a Registry and the dataset is made as the runner makes it, over
// files the input provides, then every sample is read. TLR_FUZZ_VERBOSE=1 prints the outcome.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_support.h"
#include "tlr/dataset.h"
#include "tlr/error.h"
#include "tlr/params.h"
#include "tlr/plugin.h"
#include "tlr/registry.h"

extern "C" const tlr_plugin_descriptor* tlr_plugin_info();

namespace tlr::fuzz {

// Makes dataset `name` from `params_json` and reads every sample's label, id, subset and the
// images of the first `max_images`. Returns quietly on a tlr::Error.
inline void exercise_dataset(const std::string& name, const std::string& params_json,
                             std::size_t max_images) {
  static Registry* registry = [] {
    auto* r = new Registry();
    tlr_plugin_info()->register_fn(*r);
    return r;
  }();
  try {
    Context context;
    context.experiment_dir = "/";
    const std::unique_ptr<Dataset> dataset =
        registry->make_dataset(name, Params::from_json(params_json), context);
    (void)dataset->fingerprint();
    const std::size_t classes = dataset->classes().size();
    for (std::size_t i = 0; i < dataset->size(); ++i) {
      const int label = dataset->label(i);
      if (label < 0 || static_cast<std::size_t>(label) >= classes) __builtin_trap();
      (void)dataset->id(i);
      (void)dataset->subset(i);
      if (i < max_images) {
        const cv::Mat image = dataset->image(i);
        if (image.empty() || image.type() != CV_8UC3) __builtin_trap();
      }
    }
    note(std::to_string(dataset->size()) + " samples");
  } catch (const Error& e) {
    note(e.what());
  }
}

}  // namespace tlr::fuzz
