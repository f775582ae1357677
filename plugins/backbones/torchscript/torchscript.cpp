// torchscript: any module saved with torch.jit.save (e.g. a scripted torchvision backbone) as a
// backbone. Its blocks are the module's top-level children in order.
//
// The module's parameters and buffers are exposed under their own names (e.g.
// "features.0.weight") through a tree of mirror modules, one per TorchScript submodule, that
// register the very same tensors: optimizers, requires_grad, load_state_dict and .to() act on the
// TorchScript module's tensors. A mirror carries its submodule's type name (so the runner spots
// BatchNorm layers) and forwards train()/eval() to it.
#include <torch/script.h>
#include <torch/torch.h>

#include "tlr/sdk.h"

namespace {

constexpr const char* kSchema = R"json({
  "type": "object",
  "additionalProperties": false,
  "required": ["file"],
  "properties": {
    "file": {"type": "string", "x-tlr-path": "file",
           "description":
             "torch.jit.save file (relative to the experiment); forward: images → features"}
  }
})json";

std::string type_name(const torch::jit::Module& module) {
  return module.type()->name() ? module.type()->name()->qualifiedName() : "ScriptModule";
}

class Mirror : public torch::nn::Module {
 public:
  explicit Mirror(torch::jit::Module target) : Module(type_name(target)), target_(target) {
    for (const auto& p : target_.named_parameters(/*recurse=*/false)) {
      register_parameter(p.name, p.value, p.value.requires_grad());
    }
    for (const auto& b : target_.named_buffers(/*recurse=*/false)) register_buffer(b.name, b.value);
    for (const auto& child : target_.named_children()) {
      register_module(child.name, std::make_shared<Mirror>(child.value));
    }
  }

  void train(bool on) override {
    torch::nn::Module::train(on);
    target_.train(on);
  }

 protected:
  torch::jit::Module target_;
};

class TorchScriptBackbone : public tlr::Backbone {
 public:
  explicit TorchScriptBackbone(const std::string& file) : file_(file) {
    try {
      module_ = torch::jit::load(file);
    } catch (const c10::Error& e) {
      std::string why = e.what_without_backtrace();
      if (why.size() > 300) why = why.substr(0, 300) + "...";
      throw tlr::Error(file + ": error: cannot load TorchScript module: " + why);
    }
    if (!module_.find_method("forward")) {
      throw tlr::Error(file + ": error: the TorchScript module has no forward method");
    }
    // "__torch__.torch.nn.modules.container.Sequential", possibly with a mangling part
    // ("___torch_mangle_25.") before the class name.
    const std::string type = type_name(module_);
    const std::string package = "__torch__.torch.nn.modules.container.";
    const std::string suffix = ".Sequential";
    sequential_ = type.rfind(package, 0) == 0 && type.size() >= suffix.size() &&
                  type.compare(type.size() - suffix.size(), suffix.size(), suffix) == 0;
    for (const auto& p : module_.named_parameters(/*recurse=*/false)) {
      register_parameter(p.name, p.value, p.value.requires_grad());
    }
    for (const auto& b : module_.named_buffers(/*recurse=*/false)) register_buffer(b.name, b.value);
    for (const auto& child : module_.named_children()) {
      register_module(child.name, std::make_shared<Mirror>(child.value));
      children_.push_back(child.value);
      blocks_.push_back(child.name);
    }
    kept_ = children_.size();
    module_.train(is_training());
  }

  torch::Tensor forward(torch::Tensor images) override {
    if (kept_ == children_.size()) return module_.forward({images}).toTensor();
    for (std::size_t i = 0; i < kept_; ++i) images = children_[i].forward({images}).toTensor();
    return images;
  }

  std::vector<std::string> blocks() const override {
    return {blocks_.begin(), blocks_.begin() + static_cast<std::ptrdiff_t>(kept_)};
  }

  std::string block_of(const std::string& tensor_name) const override {
    const auto dot = tensor_name.find('.');
    if (dot == std::string::npos) return "";  // a tensor of the root module itself
    const std::string child = tensor_name.substr(0, dot);
    for (const auto& name : blocks_) {
      if (name == child) return name;
    }
    return "";
  }

  void cut_after(const std::string& block) override {
    std::size_t found = blocks_.size();
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      if (blocks_[i] == block) found = i;
    }
    if (found == blocks_.size() || found >= kept_) {
      std::string known;
      for (const auto& name : blocks()) known += (known.empty() ? "" : ", ") + name;
      throw tlr::Error(file_ + ": error: unknown block '" + block + "'; blocks: " + known);
    }
    if (found + 1 == kept_) return;
    if (!sequential_) {
      throw tlr::Error(file_ + ": error: cannot cut after '" + block + "': the module (" +
                       type_name(module_) +
                       ") is not an nn.Sequential, so its forward need not run its children in "
                       "order; script an nn.Sequential of the blocks instead");
    }
    kept_ = found + 1;
  }

  void train(bool on) override {
    torch::nn::Module::train(on);
    module_.train(on);
  }

 private:
  std::string file_;
  torch::jit::Module module_;
  bool sequential_ = false;
  std::vector<torch::jit::Module> children_;
  std::vector<std::string> blocks_;
  std::size_t kept_ = 0;
};

void register_components(tlr::Registry& registry) {
  registry.backbone(
      "torchscript",
      [](const tlr::Params& params, const tlr::Context& context) -> std::shared_ptr<tlr::Backbone> {
        return std::make_shared<TorchScriptBackbone>(context.resolve(params.string("file")));
      },
      kSchema, "a torch.jit.save'd module (e.g. a scripted torchvision backbone)");
}

}  // namespace

TLR_PLUGIN("torchscript", "1.0.0", register_components)
