#include "core/config/document.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/config/builtin_schema.h"
#include "core/config/layer_merge.h"
#include "core/config/schema_checker.h"
#include "core/config/yaml_to_json.h"
#include "tlr/names.h"

namespace tlr::config {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool read_text(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return false;
  *text = buffer.str();
  return true;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

std::vector<std::string> model_names(const json& root) {
  std::vector<std::string> names;
  if (!root.contains("models") || !root["models"].is_array()) return names;
  for (const json& model : root["models"]) {
    if (model.is_object() && model.contains("name") && model["name"].is_string()) {
      names.push_back(model["name"].get<std::string>());
    }
  }
  return names;
}

// Applies one PATH=VALUE override to the document; returns "" or the problem.
std::string apply_override(const std::string& text, Document* doc, const Position& at) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) return "expected PATH=VALUE";
  const std::string path = text.substr(0, equals);
  const std::string value_text = text.substr(equals + 1);
  // YAML reads an empty value as null, which would silently replace a whole block
  // (`--set defaults.training=`): an empty value is almost always a shell variable that was unset.
  if (value_text.find_first_not_of(" \t") == std::string::npos) {
    return "no value after '" + path + "='; write " + path + "=null to clear it on purpose";
  }

  std::vector<std::string> tokens = split(path, '.');
  const bool forced = tokens.front() == "*";
  if (forced) tokens.erase(tokens.begin());
  if (!forced && tokens.front() == "extends") {
    return "'extends' is read before --set applies; edit it in the file";
  }
  if (forced && !tokens.empty() && tokens.front() == "matrix") {
    return "'*.matrix' comes after matrix expansion; set one model's with "
           "models.<name>.matrix=false";
  }
  if (forced && tokens.size() == 1 &&
      (tokens.front() == "replicates" || tokens.front() == "vary")) {
    return "'*." + tokens.front() + "' steers expansion, like matrix; set the experiment's (" +
           tokens.front() + "=...) or one model's (models.<name>." + tokens.front() + "=...)";
  }
  if (!forced && tokens.size() > 1 && tokens.front() == "matrix") {
    tokens = {"matrix", path.substr(std::string("matrix.").size())};
  }
  if (tokens.empty()) return "expected a path after '*.'";
  for (const std::string& token : tokens) {
    if (token.empty()) return "empty name in path '" + path + "'";
  }

  std::string target = forced ? "/*" : "";
  for (const std::string& token : tokens) target = pointer_append(target, token);
  YamlJson parsed = yaml_to_json(value_text, at.file, target, /*has_lines=*/false);
  if (!parsed.parsed) {
    return "invalid value: " +
           (parsed.diagnostics.empty() ? std::string("not YAML") : parsed.diagnostics[0].message);
  }
  if (forced) {
    doc->forced.push_back({at.file, tokens, parsed.value, parsed.origins});
    return "";
  }

  json* node = &doc->root;
  std::string pointer;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    const bool last = i + 1 == tokens.size();
    std::string child;
    json* next = nullptr;
    if (node->is_object()) {
      child = pointer_append(pointer, token);
      if (!node->contains(token) && !last) {
        (*node)[token] = json::object();
        doc->origins[child] = Origin{at, at, display_path(pointer), display_path(child)};
      }
      next = &(*node)[token];
    } else if (node->is_array()) {
      std::size_t index = node->size();
      if (pointer == "/models") {
        for (std::size_t m = 0; m < node->size(); ++m) {
          const json& model = (*node)[m];
          if (model.is_object() && model.value("name", json()) == json(token)) index = m;
        }
        if (index == node->size()) {
          return "no model named '" + token + "'" + did_you_mean(token, model_names(doc->root));
        }
      } else if (token.find_first_not_of("0123456789") == std::string::npos) {
        index = std::stoul(token);
      }
      if (index >= node->size()) {
        return "'" + display_path(pointer) + "' is a list; name one of its " +
               std::to_string(node->size()) + " items by index";
      }
      child = pointer_append(pointer, index);
      next = &(*node)[index];
    } else {
      return "cannot set '" + path + "': '" + display_path(pointer) + "' is " +
             json_type_name(*node) + ", not a mapping";
    }
    if (last) {
      *next = parsed.value;
      erase_subtree(&doc->origins, child);
      copy_subtree(parsed.origins, target, &doc->origins, child);
      return "";
    }
    node = next;
    pointer = child;
  }
  return "";
}

// Problems the schema cannot express: model names, and the blocks `use` names.
void check_models(const Document& doc, std::vector<Diagnostic>* out) {
  if (!doc.root.contains("models") || !doc.root["models"].is_array()) return;
  std::vector<std::string> blocks;
  if (doc.root.contains("blocks") && doc.root["blocks"].is_object()) {
    for (auto it = doc.root["blocks"].begin(); it != doc.root["blocks"].end(); ++it) {
      blocks.push_back(it.key());
    }
  }
  std::map<std::string, Position> first_seen;
  const json& models = doc.root["models"];
  for (std::size_t i = 0; i < models.size(); ++i) {
    const std::string pointer = pointer_append("/models", i);
    const json& model = models[i];
    const Origin here = find_origin(doc.origins, pointer);
    if (model.is_null()) {
      out->push_back({here.value.file, here.value.line, here.value.column,
                      "missing required key 'name' in " + here.path});
      continue;
    }
    if (!model.is_object()) continue;  // the schema reports the type
    if (!model.contains("name") || model["name"].is_null()) {
      out->push_back({here.value.file, here.value.line, here.value.column,
                      "missing required key 'name' in " + here.path});
    } else if (model["name"].is_string()) {
      const std::string name = model["name"].get<std::string>();
      const Position at = find_origin(doc.origins, pointer + "/name").value;
      auto [seen, inserted] = first_seen.emplace(name, at);
      if (!inserted) {
        std::string message = "duplicate model name '" + name + "'";
        if (seen->second.line > 0) {
          message += "; first defined at line " + std::to_string(seen->second.line);
        }
        out->push_back({at.file, at.line, at.column, message});
      }
    }
    if (model.contains("use") && model["use"].is_array()) {
      const json& use = model["use"];
      for (std::size_t u = 0; u < use.size(); ++u) {
        if (!use[u].is_string()) continue;
        const std::string block = use[u].get<std::string>();
        if (std::find(blocks.begin(), blocks.end(), block) != blocks.end()) continue;
        const Origin o = find_origin(doc.origins, pointer_append(pointer + "/use", u));
        out->push_back(
            {o.value.file, o.value.line, o.value.column,
             "unknown block '" + block + "' in " + o.container + did_you_mean(block, blocks)});
      }
    }
  }
}

// An experiment file with the files it extends merged under it.
struct Layered {
  json root;
  SourceMap origins;
  std::string text;  // its text, then its bases' (see Document::text)
};

enum class ReadStatus { ok, unreadable, unusable };

// The base's top-level keys with `child`'s merged over them (see load() in document.h).
void merge_over_base(const json& child, const SourceMap& child_origins, Layered* base) {
  base->root.erase("experiment");
  erase_subtree(&base->origins, "/experiment");
  for (auto it = child.begin(); it != child.end(); ++it) {
    const std::string pointer = pointer_append("", it.key());
    const bool deep = it.key() == "blocks" || it.key() == "defaults";
    if (deep && it.value().is_object() && base->root.contains(it.key()) &&
        base->root[it.key()].is_object()) {
      merge_layer(it.value(), pointer, child_origins, &base->root[it.key()], pointer,
                  &base->origins, Nulls::keep);
      base->origins[pointer] = find_origin(child_origins, pointer);
      continue;
    }
    base->root[it.key()] = it.value();
    erase_subtree(&base->origins, pointer);
    copy_subtree(child_origins, pointer, &base->origins, pointer);
  }
  base->origins[""] = find_origin(child_origins, "");
}

// Reads `file` and, recursively, the base its `extends` names. `chain` holds the canonical paths
// of the files being read, outermost first, and `shown` the same as positions name them: a base
// already in the chain is a cycle. Every problem goes to `out`.
ReadStatus read_layered(const std::string& file, std::vector<std::string>* chain,
                        std::vector<std::string>* shown, Layered* layered,
                        std::vector<Diagnostic>* out) {
  const bool is_base = chain->size() > 1;
  std::string text;
  if (!read_text(file, &text)) return ReadStatus::unreadable;
  YamlJson parsed = yaml_to_json(text, file);
  out->insert(out->end(), parsed.diagnostics.begin(), parsed.diagnostics.end());
  if (!parsed.parsed) return ReadStatus::unusable;
  if (!parsed.value.is_object()) {
    std::string message =
        parsed.value.is_null()
            ? std::string("the file is empty; an experiment needs at least 'models'")
            : "an experiment file must be a mapping, got " + json_type_name(parsed.value);
    if (is_base && parsed.value.is_null()) message = "the file is empty; nothing to extend";
    out->push_back({file, 1, 1, message});
    return ReadStatus::unusable;
  }
  const json& extends = parsed.value.value("extends", json());
  if (!extends.is_string() || extends.get<std::string>().empty()) {
    if (is_base && parsed.value.contains("extends")) {
      // The schema only sees the outermost file's `extends`: a base's is replaced.
      const Position at = find_origin(parsed.origins, "/extends").value;
      out->push_back(
          {at.file, at.line, at.column,
           "'extends' must name a file, got " +
               (extends.is_string() ? std::string("an empty string") : json_type_name(extends))});
      return ReadStatus::unusable;
    }
    // No base (a wrong type or an empty name in the outermost file is the schema's to report).
    layered->root = std::move(parsed.value);
    layered->origins = std::move(parsed.origins);
    layered->text = std::move(text);
    return ReadStatus::ok;
  }

  const Position at = find_origin(parsed.origins, "/extends").value;
  const fs::path base_path = fs::path(file).parent_path() / extends.get<std::string>();
  const std::string base = base_path.lexically_normal().string();
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(base_path, error);
  if (error) canonical = fs::absolute(base_path).lexically_normal();
  shown->push_back(base);
  const auto seen = std::find(chain->begin(), chain->end(), canonical.string());
  if (seen != chain->end()) {
    std::string cycle;
    for (auto it = shown->begin() + (seen - chain->begin()); it != shown->end(); ++it) {
      cycle += (cycle.empty() ? "" : " -> ") + *it;
    }
    out->push_back({at.file, at.line, at.column,
                    "'extends' makes a cycle: " + cycle + "; remove one of these 'extends'"});
    return ReadStatus::unusable;
  }
  chain->push_back(canonical.string());
  Layered merged;
  const ReadStatus status = read_layered(base, chain, shown, &merged, out);
  if (status == ReadStatus::unreadable) {
    out->push_back({at.file, at.line, at.column,
                    "cannot read base file '" + base +
                        "'; 'extends' names a file relative to this file's folder"});
    return ReadStatus::unusable;
  }
  if (status == ReadStatus::unusable) {
    out->push_back({at.file, at.line, at.column,
                    "cannot extend '" + base + "': fix the errors reported in it"});
    return ReadStatus::unusable;
  }
  merge_over_base(parsed.value, parsed.origins, &merged);
  layered->root = std::move(merged.root);
  layered->origins = std::move(merged.origins);
  layered->text = std::move(text);
  if (!layered->text.empty() && layered->text.back() != '\n') layered->text += '\n';
  layered->text += "--- # extends: " + base + "\n" + merged.text;
  return ReadStatus::ok;
}

}  // namespace

Document load(const std::string& file, const std::vector<std::string>& overrides,
              const std::string& schema_file) {
  Document doc;
  doc.file = file;
  std::string schema_text(builtin_experiment_schema());
  const std::string schema_name = schema_file.empty() ? "experiment.schema.json" : schema_file;
  if (!schema_file.empty() && !read_text(schema_file, &schema_text)) {
    doc.diagnostics.push_back({schema_name, 0, 0, "cannot read the experiment schema"});
    return doc;
  }
  try {
    doc.schema = json::parse(schema_text);
  } catch (const json::exception& e) {
    doc.diagnostics.push_back({schema_name, 0, 0, std::string("invalid JSON: ") + e.what()});
    return doc;
  }
  std::error_code error;
  fs::path canonical = fs::weakly_canonical(file, error);
  if (error) canonical = fs::absolute(file).lexically_normal();
  std::vector<std::string> chain = {canonical.string()};
  std::vector<std::string> shown = {file};
  Layered layered;
  const ReadStatus status = read_layered(file, &chain, &shown, &layered, &doc.diagnostics);
  if (status == ReadStatus::unreadable) {
    doc.diagnostics.push_back({file, 0, 0, "cannot read file"});
    return doc;
  }
  // Problems are listed file by file: this one, then its bases (also those that failed).
  std::vector<std::string> files = {file};
  for (const std::string& base : shown) {
    if (std::find(files.begin(), files.end(), base) == files.end()) files.push_back(base);
  }
  doc.bases.assign(files.begin() + 1, files.end());
  if (status != ReadStatus::ok) {
    sort_diagnostics(&doc.diagnostics, files);
    return doc;
  }
  doc.text = std::move(layered.text);
  doc.root = std::move(layered.root);
  doc.origins = std::move(layered.origins);

  for (const std::string& text : overrides) {
    const Position at{"--set " + text, 0, 0};
    const std::string problem = apply_override(text, &doc, at);
    if (!problem.empty()) doc.diagnostics.push_back({at.file, 0, 0, problem});
  }

  SourceMapLocator locator(doc.origins);
  SchemaChecker checker(doc.schema, locator);
  checker.check(doc.schema, doc.root, "", "experiment", &doc.diagnostics);
  check_models(doc, &doc.diagnostics);
  sort_diagnostics(&doc.diagnostics, files);

  doc.experiment = doc.root.contains("experiment") && doc.root["experiment"].is_string()
                       ? doc.root["experiment"].get<std::string>()
                       : fs::path(file).stem().string();
  if (doc.root.contains("plugin_paths") && doc.root["plugin_paths"].is_array()) {
    const json& paths = doc.root["plugin_paths"];
    for (std::size_t i = 0; i < paths.size(); ++i) {
      if (!paths[i].is_string()) continue;
      // Relative to the file that wrote it (a base's own folder); an override's to this file's.
      std::string writer = find_origin(doc.origins, pointer_append("/plugin_paths", i)).value.file;
      if (std::find(files.begin(), files.end(), writer) == files.end()) writer = file;
      fs::path p(paths[i].get<std::string>());
      if (p.is_relative()) p = fs::path(writer).parent_path() / p;
      doc.plugin_paths.push_back(fs::absolute(p).lexically_normal().string());
    }
  }
  doc.usable = true;
  return doc;
}

std::string find_schema_file() {
  const char* dir = std::getenv("TLR_SCHEMA_DIR");
  return dir != nullptr && *dir != '\0' ? std::string(dir) + "/experiment.schema.json" : "";
}

}  // namespace tlr::config
