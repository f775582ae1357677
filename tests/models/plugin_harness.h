// Loads the bundled model plugins (built .so files) into one registry for the tests with the
// runner's PluginLoader (every check a run applies, the SDK ABI included).
#pragma once

#include <memory>
#include <string>

#include "tlr/sdk.h"

namespace tlr::testing {

// A registry holding the backbones basic_cnn, vgg, resnet, mobilenet_v2, torchscript and the
// heads dense, linear, gap_linear. Loaded once; the libraries stay loaded.
Registry& model_registry();

// The parameters not in `params_json` take their schema defaults, as in a run.
std::shared_ptr<Backbone> make_backbone(const std::string& name, const std::string& params_json);
torch::nn::Sequential make_head(const std::string& name, const std::string& params_json,
                                const std::vector<std::int64_t>& in_shape, std::int64_t outputs);

}  // namespace tlr::testing
