#include "core/run/input_paths.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

namespace tlr {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Slot {
  const char* pointer;
  Kind kind;
};
constexpr Slot kSlots[] = {{"/data/dataset", Kind::dataset},
                           {"/augmenter", Kind::augmenter},
                           {"/backbone", Kind::backbone},
                           {"/head", Kind::head},
                           {"/strategy", Kind::strategy}};

enum class PathKind { file, directory };

// "" when `path` is what it should be, else the problem.
std::string problem_of(const std::string& path, PathKind kind) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  const char* noun = kind == PathKind::file ? "file" : "folder";
  if (!fs::exists(status)) return std::string("no such ") + noun + " '" + path + "'";
  if (kind == PathKind::directory && !fs::is_directory(status)) {
    return "'" + path + "' is not a folder";
  }
  if (kind == PathKind::file && fs::is_directory(status)) return "'" + path + "' is a folder";
  return "";
}

// "data.dataset.params.root" for "/data/dataset/params/root".
std::string dotted(const std::string& pointer) {
  std::string out = pointer.substr(1);
  for (char& c : out) {
    if (c == '/') c = '.';
  }
  return out;
}

}  // namespace

std::vector<config::Diagnostic> missing_input_paths(const config::Plan& plan,
                                                    const Registry& registry,
                                                    const Context& context,
                                                    const std::vector<std::size_t>& models) {
  std::vector<std::size_t> chosen = models;
  if (chosen.empty()) {
    for (std::size_t i = 0; i < plan.models.size(); ++i) chosen.push_back(i);
  }
  std::vector<config::Diagnostic> out;
  std::set<std::tuple<std::string, int, int, std::string>> seen;
  auto check = [&](const config::ResolvedModel& model, const std::string& pointer,
                   const json& value, PathKind kind) {
    if (!value.is_string() || value.get<std::string>().empty()) return;
    const std::string problem = problem_of(context.resolve(value.get<std::string>()), kind);
    if (problem.empty()) return;
    config::Diagnostic d =
        config::diagnostic_at(model, pointer, problem + " (" + dotted(pointer) + ")");
    if (seen.insert({d.file, d.line, d.column, d.message}).second) out.push_back(std::move(d));
  };
  for (std::size_t i : chosen) {
    const config::ResolvedModel& model = plan.models.at(i);
    const json& m = model.json;
    for (const Slot& slot : kSlots) {
      const json::json_pointer at(slot.pointer);
      if (!m.contains(at) || !m[at].is_object()) continue;
      const json& component = m[at];
      if (!component.contains("plugin") || !component["plugin"].is_string()) continue;
      const ComponentInfo* info = registry.find(slot.kind, component["plugin"].get<std::string>());
      if (info == nullptr || !component.contains("params")) continue;
      const json schema = json::parse(info->schema, nullptr, /*allow_exceptions=*/false);
      if (!schema.is_object() || !schema.contains("properties")) continue;
      for (const auto& [name, property] : schema["properties"].items()) {
        if (!property.is_object() || !property.contains("x-tlr-path")) continue;
        const json& params = component["params"];
        if (!params.is_object() || !params.contains(name)) continue;
        const PathKind kind =
            property["x-tlr-path"] == "file" ? PathKind::file : PathKind::directory;
        check(model, std::string(slot.pointer) + "/params/" + name, params[name], kind);
      }
    }
    const json::json_pointer weights("/backbone/weights");
    if (m.contains(weights)) {
      const json& w = m[weights];
      if (w.is_string()) check(model, "/backbone/weights", w, PathKind::file);
      if (w.is_object() && w.contains("file")) {
        check(model, "/backbone/weights/file", w["file"], PathKind::file);
      }
    }
  }
  return out;
}

}  // namespace tlr
