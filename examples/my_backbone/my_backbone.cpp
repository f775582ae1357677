// A complete tlr backbone plugin: two conv blocks, named so strategies can cut and unfreeze them.
#include <tlr/sdk.h>
#include <torch/torch.h>

namespace {

namespace nn = torch::nn;

class TwoBlockNet : public tlr::SequentialBackbone {
 public:
  TwoBlockNet(int64_t in_channels, int64_t width) {
    // Register modules under the names their weights should have in a state dict...
    auto conv1 =
        register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_channels, width, 3).padding(1)));
    auto conv2 =
        register_module("conv2", nn::Conv2d(nn::Conv2dOptions(width, 2 * width, 3).padding(1)));
    // ...and list the stages in forward order, each under a block name and its tensors' prefix.
    add_stage("block1", nn::AnyModule(conv1), "conv1.");
    add_stage("block1", nn::AnyModule(nn::Functional(torch::relu)), "");
    add_stage("block1", nn::AnyModule(nn::MaxPool2d(2)), "");
    add_stage("block2", nn::AnyModule(conv2), "conv2.");
    add_stage("block2", nn::AnyModule(nn::Functional(torch::relu)), "");
    add_stage("block2", nn::AnyModule(nn::MaxPool2d(2)), "");
  }
};

// JSON Schema of the parameters: the runner validates the YAML against it, fills in the defaults
// and shows it in `runner plugins two_block_net`.
constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "in_channels": {"type": "integer", "minimum": 1, "default": 3, "description": "input channels"},
    "width": {"type": "integer", "minimum": 1, "default": 16, "description": "channels of block1"}
  }
})json";

void register_components(tlr::Registry& registry) {
  registry.backbone(
      "two_block_net",
      [](const tlr::Params& p, const tlr::Context&) {
        return std::make_shared<TwoBlockNet>(p.integer("in_channels"), p.integer("width"));
      },
      kSchema, "two conv blocks (an example of an out-of-tree plugin)");
}

}  // namespace

TLR_PLUGIN("my_backbone", "1.0.0", register_components)
