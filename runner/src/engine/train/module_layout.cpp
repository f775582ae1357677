#include "engine/train/module_layout.h"

#include <torch/torch.h>

#include <map>
#include <stdexcept>

namespace tlr {

namespace {

using nlohmann::json;
namespace nn = torch::nn;

// A module the layout cannot express; caught by describe_classifier.
struct Unavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <std::size_t D>
json list(const torch::ExpandingArray<D>& values) {
  return json(std::vector<std::int64_t>(values->begin(), values->end()));
}

json padding_of(const nn::Conv2dOptions::padding_t& padding) {
  if (c10::get_if<torch::enumtype::kValid>(&padding)) return "valid";
  if (c10::get_if<torch::enumtype::kSame>(&padding)) return "same";
  return list(c10::get<torch::ExpandingArray<2>>(padding));
}

json conv2d(const nn::Conv2dImpl& m) {
  const auto& o = m.options;
  if (!c10::get_if<torch::enumtype::kZeros>(&o.padding_mode())) {
    throw Unavailable("Conv2d with a padding mode other than zeros");
  }
  return {{"in_channels", o.in_channels()},
          {"out_channels", o.out_channels()},
          {"kernel_size", list(o.kernel_size())},
          {"stride", list(o.stride())},
          {"padding", padding_of(o.padding())},
          {"dilation", list(o.dilation())},
          {"groups", o.groups()},
          {"bias", o.bias()}};
}

json batchnorm(const nn::BatchNormOptions& o) {
  return {{"num_features", o.num_features()},
          {"eps", o.eps()},
          {"momentum", o.momentum() ? json(*o.momentum()) : json(nullptr)},
          {"affine", o.affine()},
          {"track_running_stats", o.track_running_stats()}};
}

json adaptive_size(const torch::ExpandingArrayWithOptionalElem<2>& size) {
  json out = json::array();
  for (const auto& v : *size) out.push_back(v ? json(*v) : json(nullptr));
  return out;
}

// {"type": ..., "kwargs": ...} of one module, children described recursively.
json describe(const nn::Module& m) {
  auto node = [](const char* type, json kwargs = json::object()) {
    return json{{"type", type}, {"kwargs", std::move(kwargs)}};
  };
  if (auto* s = dynamic_cast<const nn::SequentialImpl*>(&m)) {
    json children = json::array();
    for (const auto& child : s->named_children()) {
      json c = describe(*child.value());
      c["name"] = child.key();
      children.push_back(std::move(c));
    }
    return {{"type", "Sequential"}, {"children", std::move(children)}};
  }
  if (auto* c = dynamic_cast<const nn::Conv2dImpl*>(&m)) return node("Conv2d", conv2d(*c));
  if (auto* l = dynamic_cast<const nn::LinearImpl*>(&m)) {
    return node("Linear", {{"in_features", l->options.in_features()},
                           {"out_features", l->options.out_features()},
                           {"bias", l->options.bias()}});
  }
  if (auto* b = dynamic_cast<const nn::BatchNorm2dImpl*>(&m)) {
    return node("BatchNorm2d", batchnorm(b->options));
  }
  if (auto* b = dynamic_cast<const nn::BatchNorm1dImpl*>(&m)) {
    return node("BatchNorm1d", batchnorm(b->options));
  }
  if (dynamic_cast<const nn::ReLUImpl*>(&m)) return node("ReLU");
  if (dynamic_cast<const nn::ReLU6Impl*>(&m)) return node("ReLU6");
  if (auto* r = dynamic_cast<const nn::LeakyReLUImpl*>(&m)) {
    return node("LeakyReLU", {{"negative_slope", r->options.negative_slope()}});
  }
  if (auto* e = dynamic_cast<const nn::ELUImpl*>(&m)) {
    return node("ELU", {{"alpha", e->options.alpha()}});
  }
  if (auto* g = dynamic_cast<const nn::GELUImpl*>(&m)) {
    return node("GELU", {{"approximate", g->options.approximate()}});
  }
  if (dynamic_cast<const nn::SiLUImpl*>(&m)) return node("SiLU");
  if (dynamic_cast<const nn::SigmoidImpl*>(&m)) return node("Sigmoid");
  if (dynamic_cast<const nn::TanhImpl*>(&m)) return node("Tanh");
  if (auto* s = dynamic_cast<const nn::SoftmaxImpl*>(&m)) {
    return node("Softmax", {{"dim", s->options.dim()}});
  }
  if (auto* p = dynamic_cast<const nn::MaxPool2dImpl*>(&m)) {
    const auto& o = p->options;
    return node("MaxPool2d", {{"kernel_size", list(o.kernel_size())},
                              {"stride", list(o.stride())},
                              {"padding", list(o.padding())},
                              {"dilation", list(o.dilation())},
                              {"ceil_mode", o.ceil_mode()}});
  }
  if (auto* p = dynamic_cast<const nn::AvgPool2dImpl*>(&m)) {
    const auto& o = p->options;
    return node(
        "AvgPool2d",
        {{"kernel_size", list(o.kernel_size())},
         {"stride", list(o.stride())},
         {"padding", list(o.padding())},
         {"ceil_mode", o.ceil_mode()},
         {"count_include_pad", o.count_include_pad()},
         {"divisor_override", o.divisor_override() ? json(*o.divisor_override()) : json(nullptr)}});
  }
  if (auto* p = dynamic_cast<const nn::AdaptiveAvgPool2dImpl*>(&m)) {
    return node("AdaptiveAvgPool2d", {{"output_size", adaptive_size(p->options.output_size())}});
  }
  if (auto* p = dynamic_cast<const nn::AdaptiveMaxPool2dImpl*>(&m)) {
    return node("AdaptiveMaxPool2d", {{"output_size", adaptive_size(p->options.output_size())}});
  }
  if (auto* d = dynamic_cast<const nn::DropoutImpl*>(&m)) {
    return node("Dropout", {{"p", d->options.p()}});
  }
  if (auto* d = dynamic_cast<const nn::Dropout2dImpl*>(&m)) {
    return node("Dropout2d", {{"p", d->options.p()}});
  }
  if (auto* f = dynamic_cast<const nn::FlattenImpl*>(&m)) {
    return node("Flatten",
                {{"start_dim", f->options.start_dim()}, {"end_dim", f->options.end_dim()}});
  }
  if (dynamic_cast<const nn::IdentityImpl*>(&m)) return node("Identity");
  throw Unavailable("module " + m.name() + " has no torch.nn equivalent the layout can describe");
}

void add_tensors(const nn::Module& m, const std::string& prefix, std::vector<std::string>& out) {
  for (const auto& p : m.named_parameters()) out.push_back(prefix + p.key());
  for (const auto& b : m.named_buffers()) out.push_back(prefix + b.key());
}

// One Sequential node under construction, with the path it has in the backbone.
struct Container {
  std::vector<std::string> path;
  json* node;
};

// The backbone's stages as nested Sequential nodes named after the backbone's own registration.
json describe_backbone(const Backbone& backbone, std::vector<std::string>& tensors) {
  const auto* chain = dynamic_cast<const SequentialBackbone*>(&backbone);
  if (!chain) {
    throw Unavailable("backbone " + backbone.name() + " is not a chain of stages");
  }
  std::map<const nn::Module*, std::string> registered;
  for (const auto& item : backbone.named_modules("", /*include_self=*/false)) {
    registered.emplace(item.value().get(), item.key());
  }
  json root = {{"name", "backbone"}, {"type", "Sequential"}, {"children", json::array()}};
  std::vector<Container> open{{{}, &root}};
  std::vector<std::vector<std::string>> closed;  // containers left: entering one again would
                                                 // reorder the forward pass
  int unnamed = 0;
  for (const auto& stage : chain->stage_views()) {
    std::vector<std::string> path;
    auto found = registered.find(stage.module.get());
    if (found != registered.end()) {
      std::string name = found->second;
      for (std::size_t at = name.find('.'); at != std::string::npos; at = name.find('.')) {
        path.push_back(name.substr(0, at));
        name.erase(0, at + 1);
      }
      path.push_back(name);
    } else {
      if (!stage.module->parameters().empty() || !stage.module->buffers().empty()) {
        throw Unavailable("a stage of block " + stage.block +
                          " holds tensors but is not a "
                          "registered module of the backbone");
      }
      path.push_back("stage" + std::to_string(++unnamed));
    }
    const std::vector<std::string> parent(path.begin(), path.end() - 1);
    auto is_prefix = [&](const std::vector<std::string>& p) {
      return p.size() <= parent.size() && std::equal(p.begin(), p.end(), parent.begin());
    };
    while (!is_prefix(open.back().path)) {
      closed.push_back(open.back().path);
      open.pop_back();
    }
    while (open.back().path.size() < parent.size()) {
      std::vector<std::string> next(parent.begin(), parent.begin() + open.back().path.size() + 1);
      if (std::find(closed.begin(), closed.end(), next) != closed.end()) {
        throw Unavailable("the stages of " + next.back() + " do not run one after another");
      }
      json& children = (*open.back().node)["children"];
      children.push_back(
          {{"name", next.back()}, {"type", "Sequential"}, {"children", json::array()}});
      open.push_back({next, &children.back()});
    }
    json described = describe(*stage.module);
    described["name"] = path.back();
    (*open.back().node)["children"].push_back(std::move(described));
    std::string prefix = "backbone.";
    for (const auto& part : path) prefix += part + ".";
    add_tensors(*stage.module, prefix, tensors);
  }
  return root;
}

}  // namespace

ModuleLayout describe_classifier(const Backbone* backbone, const torch::nn::Module& head) {
  ModuleLayout out;
  try {
    json children = json::array();
    if (backbone) children.push_back(describe_backbone(*backbone, out.tensors));
    json described = describe(head);
    described["name"] = "head";
    children.push_back(std::move(described));
    add_tensors(head, "head.", out.tensors);
    out.layout = {{"name", ""}, {"type", "Sequential"}, {"children", std::move(children)}};
  } catch (const Unavailable& e) {
    out.layout = nullptr;
    out.problem = e.what();
    out.tensors.clear();
  }
  return out;
}

}  // namespace tlr
