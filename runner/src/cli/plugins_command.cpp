// `runner plugins [NAME]`: what is installed, and what each component's parameters are.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/config/component_params.h"
#include "core/run/model_failure.h"

namespace tlr::cli {
namespace {

std::string type_of(const nlohmann::json& property) {
  if (!property.contains("type")) return property.contains("enum") ? "enum" : "any";
  const auto& t = property["type"];
  if (t.is_string()) {
    std::string type = t.get<std::string>();
    if (type == "array" && property.contains("items") && property["items"].contains("type") &&
        property["items"]["type"].is_string()) {
      return "list of " + property["items"]["type"].get<std::string>();
    }
    return type;
  }
  std::string joined;
  for (const auto& v : t) joined += (joined.empty() ? "" : "|") + v.get<std::string>();
  return joined;
}

// A backbone's blocks as built with its default params: the names strategies' block parameters
// (fine_tune.from, cut_after) take.
void describe_blocks(const Registry& registry, const ComponentInfo& c) {
  try {
    std::shared_ptr<Backbone> backbone = registry.make_backbone(
        c.name, config::params_with_defaults(c, nlohmann::json::object()), Context{});
    std::string line;
    for (const std::string& block : backbone->blocks()) line += (line.empty() ? "" : ", ") + block;
    std::cout << "  blocks (default params): " << line << "\n";
  } catch (const std::exception& e) {
    std::cout << "  blocks: depend on the params (building with the defaults failed: "
              << first_line(e.what()) << ")\n";
  }
}

void describe(const Registry& registry, const ComponentInfo& c) {
  std::cout << kind_name(c.kind) << " " << c.name << "  (plugin " << c.plugin << " "
            << c.plugin_version << ", " << c.library << ")\n";
  if (!c.summary.empty()) std::cout << "  " << c.summary << "\n";
  nlohmann::json schema = nlohmann::json::parse(c.schema, nullptr, false);
  if (schema.is_discarded() || !schema.contains("properties") || schema["properties"].empty()) {
    std::cout << "  (no parameters)\n";
    if (c.kind == Kind::backbone) describe_blocks(registry, c);
    return;
  }
  std::set<std::string> required;
  if (schema.contains("required")) {
    for (const auto& r : schema["required"]) required.insert(r.get<std::string>());
  }
  for (const auto& [name, property] : schema["properties"].items()) {
    std::cout << "  " << std::left << std::setw(22) << name << std::setw(18) << type_of(property);
    if (property.contains("default")) {
      std::cout << "default " << property["default"].dump();
    } else if (required.count(name)) {
      std::cout << "required";
    }
    std::cout << "\n";
    if (property.contains("enum")) std::cout << "      one of " << property["enum"].dump() << "\n";
    if (property.contains("description")) {
      std::cout << "      " << property["description"].get<std::string>() << "\n";
    }
  }
  if (c.kind == Kind::backbone) describe_blocks(registry, c);
}

}  // namespace

int plugins_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "describe this command")(
      "plugin-path", po::value<std::vector<std::string>>()->composing(),
      "also load the plugins of this folder (repeatable)")("name", po::value<std::string>(),
                                                           "a component to describe");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map vm;
  bool help = false;
  if (!parse("plugins",
             "usage: runner plugins [NAME] [--plugin-path DIR]...\n\n"
             "Lists kind, name, plugin, version and library of every component found on the\n"
             "plugin path, then each one's parameters (type, default, description).\n"
             "With NAME, describes the components of that name only.\n",
             options, positional, args, vm, &help)) {
    return help ? kExitOk : kExitBadInput;
  }
  Registry registry;
  PluginLoader loader(registry);
  std::vector<std::string> extra;
  if (vm.count("plugin-path")) extra = vm["plugin-path"].as<std::vector<std::string>>();
  load_plugins(loader, extra);

  const std::string only = vm.count("name") ? vm["name"].as<std::string>() : "";
  auto components = registry.components();
  std::stable_sort(components.begin(), components.end(), [](const auto& a, const auto& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.name < b.name;
  });
  if (only.empty()) {
    std::cout << std::left << std::setw(11) << "kind" << std::setw(20) << "name" << std::setw(20)
              << "plugin" << std::setw(9) << "version"
              << "library\n";
    for (const auto& c : components) {
      std::cout << std::setw(11) << kind_name(c.kind) << std::setw(20) << c.name << std::setw(20)
                << c.plugin << std::setw(9) << c.plugin_version << c.library << "\n";
    }
    std::cout << "\n";
  }
  bool found = false;
  for (const auto& c : components) {
    if (!only.empty() && c.name != only) continue;
    found = true;
    describe(registry, c);
    std::cout << "\n";
  }
  if (!only.empty() && !found) {
    print_plugin_problems(loader, /*fatal=*/true);
    std::cerr << "runner plugins: error: no component named '" << only << "'\n";
    return kExitBadInput;
  }
  // Describing NAME succeeded whatever else was refused; the full listing fails on a refusal.
  print_plugin_problems(loader, /*fatal=*/only.empty());
  return only.empty() && loader.any_refused() ? kExitBadInput : kExitOk;
}

}  // namespace tlr::cli
