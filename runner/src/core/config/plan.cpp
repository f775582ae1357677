#include "core/config/plan.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include "core/config/content_hash.h"
#include "core/config/layer_merge.h"
#include "core/config/replicate_seed.h"
#include "core/config/schema_checker.h"
#include "tlr/names.h"
#include "tlr/registry.h"

namespace tlr::config {
namespace {

using nlohmann::json;

// A model on its way to resolution: its JSON and where each value came from.
struct Draft {
  std::string name;
  std::string written_name;  // `name` before matrix expansion
  json value = json::object();
  SourceMap origins;  // pointer in `value` -> origin
  Position at;        // the model's entry in the file
};

// Sets `value` at the dotted `path` of `draft`, creating mappings on the way with `origin`.
// Returns "" or why it cannot.
std::string set_path(Draft* draft, const std::vector<std::string>& path, const json& value,
                     const Origin& origin, const SourceMap& value_origins,
                     const std::string& value_pointer) {
  json* node = &draft->value;
  std::string pointer;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (!node->is_object()) {
      return "'" + display_path(pointer) + "' is " + json_type_name(*node) + ", not a mapping";
    }
    const std::string child = pointer_append(pointer, path[i]);
    if (i + 1 == path.size()) {
      erase_subtree(&draft->origins, child);
      if (value.is_null()) {
        node->erase(path[i]);
        return "";
      }
      (*node)[path[i]] = without_nulls(value);
      copy_subtree(value_origins, value_pointer, &draft->origins, child);
      draft->origins[child] = origin;
      return "";
    }
    if (!node->contains(path[i])) {
      (*node)[path[i]] = json::object();
      draft->origins[child] = origin;
    }
    node = &(*node)[path[i]];
    pointer = child;
  }
  return "";
}

std::string value_label(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::vector<std::string> split_dots(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find('.', start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

class ModelLocator : public Locator {
 public:
  explicit ModelLocator(const Draft& draft) : draft_(draft) {}
  Origin origin(const std::string& pointer) const override {
    return find_origin(draft_.origins, pointer);
  }
  Diagnostic missing(const std::string& object_pointer, const std::string& key) const override {
    const std::string where =
        object_pointer.empty() ? key : display_path(object_pointer) + "." + key;
    return {draft_.at.file, draft_.at.line, draft_.at.column,
            "model '" + draft_.name + "' is missing required key '" + where + "'"};
  }

 private:
  const Draft& draft_;
};

struct MatrixEntry {
  std::string key;
  std::vector<std::string> path;
  json values;
  std::string pointer;  // of the entry in the document
  Origin origin;
};

std::vector<MatrixEntry> matrix_entries(const Document& doc) {
  std::vector<MatrixEntry> entries;
  if (!doc.root.contains("matrix") || !doc.root["matrix"].is_object()) return entries;
  for (auto it = doc.root["matrix"].begin(); it != doc.root["matrix"].end(); ++it) {
    if (!it.value().is_array() || it.value().empty()) continue;  // reported by the schema
    const std::string pointer = pointer_append("/matrix", it.key());
    entries.push_back(
        {it.key(), split_dots(it.key()), it.value(), pointer, find_origin(doc.origins, pointer)});
  }
  // In file order, not in the (sorted) order of the JSON object.
  std::stable_sort(entries.begin(), entries.end(), [](const MatrixEntry& a, const MatrixEntry& b) {
    return std::make_pair(a.origin.key.line, a.origin.key.column) <
           std::make_pair(b.origin.key.line, b.origin.key.column);
  });
  return entries;
}

struct ComponentSlot {
  const char* pointer;
  Kind kind;
};
const ComponentSlot kComponentSlots[] = {
    {"/data/dataset", Kind::dataset},
    {"/strategy", Kind::strategy},
    {"/augmenter", Kind::augmenter},
    {"/backbone", Kind::backbone},
    {"/head", Kind::head},
};

// A plugin's params schema, parsed once per resolution.
struct PluginSchema {
  json schema;
  std::unique_ptr<CompiledSchema> compiled;
  std::string problem;  // why the schema is unusable, or ""
};

class Resolver {
 public:
  Resolver(const Document& doc, const Registry* registry) : doc_(doc), registry_(registry) {}

  void run(Resolution* out) {
    out->diagnostics = doc_.diagnostics;
    Plan& plan = out->plan;
    plan.experiment = doc_.experiment;
    plan.file = doc_.file;
    plan.text = doc_.text;
    plan.bases = doc_.bases;
    plan.plugin_paths = doc_.plugin_paths;
    std::vector<std::string> files = {doc_.file};
    files.insert(files.end(), doc_.bases.begin(), doc_.bases.end());
    if (!doc_.usable || !doc_.root.contains("models") || !doc_.root["models"].is_array()) {
      sort_diagnostics(&out->diagnostics, files);
      return;
    }
    const json& definitions = doc_.schema.value("definitions", json::object());
    model_schema_ = definitions.value("model", json::object());
    try {
      core_compiled_ = std::make_unique<CompiledSchema>(
          json{{"allOf", json::array({{{"$ref", "#/definitions/model"}}})},
               {"definitions", definitions}});
    } catch (const std::exception& e) {
      out->diagnostics.push_back(
          {"experiment.schema.json", 0, 0, std::string("unusable schema: ") + e.what()});
    }
    const std::vector<MatrixEntry> matrix = matrix_entries(doc_);
    std::set<std::string> names;
    const json& models = doc_.root["models"];
    for (std::size_t i = 0; i < models.size(); ++i) {
      if (!models[i].is_object() || !models[i].contains("name") || !models[i]["name"].is_string()) {
        continue;  // reported by load()
      }
      std::vector<Draft> drafts = {merged(models[i], pointer_append("/models", i))};
      // `matrix: false`: one run under the model's own name (a pretraining stage that later
      // models load by name must not be multiplied by a matrix over their settings).
      if (models[i].value("matrix", json(true)) != json(false)) {
        for (const MatrixEntry& entry : matrix) drafts = expand(drafts, entry, &out->diagnostics);
      }
      const Replication replication = replication_of(models[i], pointer_append("/models", i));
      for (Draft& draft : drafts) {
        if (!names.insert(draft.name).second && draft.name.find('@') != std::string::npos) {
          out->diagnostics.push_back(
              {draft.at.file, draft.at.line, draft.at.column,
               "model name '" + draft.name + "' occurs twice after matrix expansion"});
        }
        ResolvedModel resolved = finish(&draft, &out->diagnostics);
        if (models[i].contains("slurm")) resolved.slurm = models[i]["slurm"];
        add_replicates(std::move(resolved), replication, &plan, &out->diagnostics);
      }
    }
    link_weights(&plan, &out->diagnostics);
    plan.compare_to = baseline_of(plan, &out->diagnostics);
    if (doc_.root.contains("slurm")) plan.slurm = doc_.root["slurm"];
    sort_diagnostics(&out->diagnostics, files);
  }

 private:
  Draft merged(const json& model, const std::string& pointer) {
    Draft draft;
    draft.name = model["name"].get<std::string>();
    draft.written_name = draft.name;
    const Origin here = find_origin(doc_.origins, pointer);
    draft.at = here.value;
    draft.origins[""] = here;
    const json& root = doc_.root;
    if (root.contains("defaults") && root["defaults"].is_object()) {
      merge_layer(root["defaults"], "/defaults", doc_.origins, &draft.value, "", &draft.origins,
                  Nulls::remove);
    }
    if (model.contains("use") && model["use"].is_array()) {
      for (const json& block : model["use"]) {
        if (!block.is_string() || !root.contains("blocks") || !root["blocks"].is_object()) continue;
        const std::string name = block.get<std::string>();
        if (!root["blocks"].contains(name) || !root["blocks"][name].is_object()) continue;
        merge_layer(root["blocks"][name], pointer_append("/blocks", name), doc_.origins,
                    &draft.value, "", &draft.origins, Nulls::remove);
      }
    }
    // `use` names the layers above; `matrix` decides expansion (run()); `slurm` is what a task
    // asks the cluster for. None is part of the resolved model, so a model's content hash does
    // not depend on them.
    merge_layer(model, pointer, doc_.origins, &draft.value, "", &draft.origins, Nulls::remove,
                {"use", "matrix", "replicates", "vary", "slurm"});
    return draft;
  }

  // How many times a model runs and what differs between its runs.
  struct Replication {
    int replicates = 1;
    bool training = true;
    bool train_sample = false;
    bool own = false;  // the model's own count, not the experiment's
    Origin at;         // where the count was written; for problems
  };

  // The model's own `replicates`/`vary`, else the experiment's; a `matrix: false` model (a stage
  // such as a source pretraining) and a model publishing weights ignore the experiment's count
  // and run once (add_replicates()).
  Replication replication_of(const json& model, const std::string& pointer) const {
    Replication r;
    const json& root = doc_.root;
    const bool stage = model.value("matrix", json(true)) == json(false);
    if (model.contains("replicates") && model["replicates"].is_number_integer()) {
      r.replicates = model["replicates"].get<int>();
      r.own = true;
      r.at = find_origin(doc_.origins, pointer_append(pointer, "replicates"));
    } else if (!stage && root.contains("replicates") && root["replicates"].is_number_integer()) {
      r.replicates = root["replicates"].get<int>();
      r.at = find_origin(doc_.origins, "/replicates");
    }
    r.replicates = std::max(1, r.replicates);  // the schema reports a count below 1
    const json* vary = nullptr;
    if (model.contains("vary") && model["vary"].is_array()) {
      vary = &model["vary"];
    } else if (root.contains("vary") && root["vary"].is_array()) {
      vary = &root["vary"];
    }
    if (vary != nullptr) {
      r.training = std::find(vary->begin(), vary->end(), json("training")) != vary->end();
      r.train_sample = std::find(vary->begin(), vary->end(), json("train_sample")) != vary->end();
    }
    return r;
  }

  // Appends the model's replicates to the plan: replicate 0 is the model as resolved (the same
  // cell as a run without replicates); replicate r > 0 differs only in its seed and, with
  // train_sample, in data.split.train_val_seed.
  static void add_replicates(ResolvedModel model, const Replication& replication, Plan* plan,
                             std::vector<Diagnostic>* out) {
    model.model = model.name;
    model.replicates = replication.replicates;
    model.vary_training = replication.training;
    // A publisher runs once: which replicate's weights would the models loading them get? The
    // experiment's count passes it by, as it does a `matrix: false` stage; its own is refused.
    if (replication.replicates > 1 && !model.publishes.empty()) {
      if (replication.own) {
        out->push_back(
            {replication.at.value.file, replication.at.value.line, replication.at.value.column,
             "model '" + model.written_name + "' publishes weights '" + model.publishes +
                 "' and so runs once, but is given " + std::to_string(replication.replicates) +
                 " replicates; give it `replicates: 1`"});
      }
      model.replicates = 1;
    }
    for (int r = 0; r < model.replicates; ++r) {
      ResolvedModel copy = model;
      copy.replicate = r;
      if (copy.replicates > 1) copy.name += "#" + std::to_string(r + 1);
      if (replication.train_sample && r > 0 && copy.json.contains("data") &&
          copy.json["data"].is_object()) {
        json& split = copy.json["data"]["split"];
        if (split.is_null()) split = json::object();
        const std::uint64_t split_seed = split.value("seed", 42ULL);
        split["train_val_seed"] = replicate_seed(split_seed, r);
        copy.hash = content_hash(copy.json);
      }
      plan->models.push_back(std::move(copy));
    }
  }

  // `compare_to` checked against the plan's models, else the default.
  std::string baseline_of(const Plan& plan, std::vector<Diagnostic>* out) const {
    const json& root = doc_.root;
    std::vector<std::string> written;
    for (const ResolvedModel& m : plan.models) {
      if (std::find(written.begin(), written.end(), m.written_name) == written.end()) {
        written.push_back(m.written_name);
      }
    }
    if (root.contains("compare_to") && root["compare_to"].is_string()) {
      std::string name = root["compare_to"].get<std::string>();
      if (std::find(written.begin(), written.end(), name) == written.end()) {
        const Origin o = find_origin(doc_.origins, "/compare_to");
        out->push_back({o.value.file, o.value.line, o.value.column,
                        "compare_to names no model: '" + name + "'" + did_you_mean(name, written)});
      }
      return name;
    }
    for (const ResolvedModel& m : plan.models) {
      const json& strategy = m.json.value("strategy", json::object());
      // A stage publishing weights (a source pretraining) is not one of the compared models.
      if (m.publishes.empty() && strategy.is_object() &&
          strategy.value("plugin", std::string()) == "scratch") {
        return m.written_name;
      }
    }
    return "";
  }

  std::vector<Draft> expand(const std::vector<Draft>& drafts, const MatrixEntry& entry,
                            std::vector<Diagnostic>* out) {
    std::vector<Draft> next;
    for (const Draft& draft : drafts) {
      for (std::size_t v = 0; v < entry.values.size(); ++v) {
        Draft copy = draft;
        const json& value = entry.values[v];
        copy.name += "@" + value_label(value);
        const std::string value_pointer = pointer_append(entry.pointer, v);
        Origin origin = entry.origin;
        origin.value = find_origin(doc_.origins, value_pointer).value;
        origin.container = "matrix path '" + entry.key + "'";
        origin.path = entry.key;
        const std::string problem =
            set_path(&copy, entry.path, value, origin, doc_.origins, value_pointer);
        if (!problem.empty()) {
          out->push_back({origin.key.file, origin.key.line, origin.key.column,
                          "matrix path '" + entry.key + "' cannot be set in model '" + draft.name +
                              "': " + problem});
        }
        next.push_back(std::move(copy));
      }
    }
    return next;
  }

  ResolvedModel finish(Draft* draft, std::vector<Diagnostic>* out) {
    json& m = draft->value;
    m["name"] = draft->name;
    for (const ForcedValue& forced : doc_.forced) {
      std::string pointer = "/*";
      for (const std::string& token : forced.path) pointer = pointer_append(pointer, token);
      const Origin origin = find_origin(forced.origins, pointer);
      const std::string problem =
          set_path(draft, forced.path, forced.value, origin, forced.origins, pointer);
      if (!problem.empty()) {
        out->push_back(
            {forced.label, 0, 0, "cannot set it in model '" + draft->name + "': " + problem});
      }
    }
    if (!m.contains("seed")) {
      const json& seed = doc_.root.value("seed", json());
      m["seed"] = seed.is_number_integer() ? seed : json(42);
      if (doc_.origins.count("/seed") > 0) draft->origins["/seed"] = doc_.origins.at("/seed");
    }
    fill_defaults(doc_.schema, model_schema_, &m);

    ModelLocator locator(*draft);
    for (const ComponentSlot& slot : kComponentSlots) check_component(slot, draft, locator, out);
    SchemaChecker checker(doc_.schema, locator);
    if (core_compiled_) {
      checker.check_with_backstop(model_schema_, *core_compiled_, m, "", "model", out);
    } else {
      checker.check(model_schema_, m, "", "model", out);
    }
    check_output(*draft, out);
    ResolvedModel resolved;
    resolved.name = draft->name;
    resolved.json = m;
    resolved.hash = content_hash(m);
    if (m.contains("publish") && m["publish"].is_string()) {
      resolved.publishes = m["publish"].get<std::string>();
    }
    const json::json_pointer loads("/backbone/weights/published");
    if (m.contains(loads) && m[loads].is_string()) resolved.loads = m[loads].get<std::string>();
    resolved.written_name = draft->written_name;
    resolved.at = draft->at;
    resolved.origins = draft->origins;
    return resolved;
  }

  // Every `weights: {published: NAME}` names the `publish: NAME` of one earlier model that runs
  // once (a publisher expanded by the matrix would publish the name once per copy).
  static void link_weights(Plan* plan, std::vector<Diagnostic>* out) {
    std::map<std::string, std::size_t> publishers;  // published name -> its model's index
    std::set<std::string> expanded;     // names whose publisher the matrix expands (said once)
    std::map<std::string, int> copies;  // written name of a publisher -> its models in the plan
    for (const ResolvedModel& model : plan->models) {
      if (!model.publishes.empty()) ++copies[model.written_name];
    }
    for (std::size_t i = 0; i < plan->models.size(); ++i) {
      ResolvedModel& model = plan->models[i];
      if (!model.loads.empty()) {
        auto found = publishers.find(model.loads);
        if (found != publishers.end()) {
          model.publisher = found->second;
        } else if (expanded.count(model.loads) == 0) {
          std::string message = "no earlier model publishes weights '" + model.loads + "'";
          const ResolvedModel* later = nullptr;
          for (std::size_t j = i; j < plan->models.size() && !later; ++j) {
            if (plan->models[j].publishes == model.loads) later = &plan->models[j];
          }
          if (later != nullptr) {
            message += ": model '" + later->written_name + "' publishes them but comes after '" +
                       model.written_name + "'; move it earlier";
          } else {
            std::vector<std::string> names;
            for (const ResolvedModel& m : plan->models) {
              if (!m.publishes.empty()) names.push_back(m.publishes);
            }
            message += names.empty()
                           ? "; add `publish: " + model.loads + "` to the model that trains them"
                           : did_you_mean(model.loads, names);
          }
          out->push_back(diagnostic_at(model, "/backbone/weights/published", message));
        }
      }
      if (model.publishes.empty()) continue;
      if (copies[model.written_name] > 1) {
        if (expanded.insert(model.publishes).second) {
          out->push_back(
              diagnostic_at(model, "/publish",
                            "model '" + model.written_name + "' publishes '" + model.publishes +
                                "' but runs " + std::to_string(copies[model.written_name]) +
                                " times, once per matrix value; give it `matrix: false`"));
        }
        continue;
      }
      auto [it, inserted] = publishers.emplace(model.publishes, i);
      if (!inserted) {
        const ResolvedModel& first = plan->models[it->second];
        out->push_back(diagnostic_at(model, "/publish",
                                     "weights '" + model.publishes +
                                         "' are already published by model '" + first.name +
                                         "'; give each published name to one model"));
      }
    }
  }

  // A sigmoid output over more than 2 classes fails at run time (engine/train/output_mode.h).
  // When the split lists its classes the count is known here; otherwise only the dataset knows it
  // and the run-time check stays the only one.
  static void check_output(const Draft& draft, std::vector<Diagnostic>* out) {
    const json& m = draft.value;
    if (m.value("output", json()) != json("sigmoid")) return;
    const json* classes = &m;
    for (const char* key : {"data", "split", "classes"}) {
      if (!classes->is_object() || !classes->contains(key)) return;
      classes = &(*classes)[key];
    }
    if (!classes->is_array() || classes->size() <= 2) return;
    // Named as written: matrix copies of one model report one problem (equal lines are merged).
    const std::string& model = draft.written_name;
    const Origin o = find_origin(draft.origins, "/output");
    out->push_back({o.value.file, o.value.line, o.value.column,
                    "output 'sigmoid' needs exactly 2 classes, but model '" + model + "' lists " +
                        std::to_string(classes->size()) +
                        " in data.split.classes; use 'softmax' or 'auto'"});
  }

  void check_component(const ComponentSlot& slot, Draft* draft, const Locator& locator,
                       std::vector<Diagnostic>* out) {
    const json::json_pointer at(slot.pointer);
    json& m = draft->value;
    if (registry_ == nullptr || !m.contains(at)) return;
    json& component = m[at];
    if (!component.is_object() || !component.contains("plugin") ||
        !component["plugin"].is_string()) {
      return;  // the core schema reports it
    }
    const std::string name = component["plugin"].get<std::string>();
    const std::string kind = kind_name(slot.kind);
    const std::string plugin_pointer = std::string(slot.pointer) + "/plugin";
    const ComponentInfo* info = registry_->find(slot.kind, name);
    if (info == nullptr) {
      std::vector<std::string> available;
      for (const ComponentInfo& c : registry_->components()) {
        if (c.kind == slot.kind) available.push_back(c.name);
      }
      std::sort(available.begin(), available.end());
      std::string message = "unknown " + kind + " '" + name + "'";
      if (available.empty()) {
        message += "; no " + kind + " plugins are loaded";
      } else {
        const std::string suggestion = did_you_mean(name, available);
        message += suggestion.empty() ? "; available: " : suggestion + " available: ";
        for (std::size_t i = 0; i < available.size(); ++i) {
          message += (i > 0 ? ", " : "") + available[i];
        }
      }
      const Origin o = locator.origin(plugin_pointer);
      out->push_back({o.value.file, o.value.line, o.value.column, message});
      return;
    }
    if (!component.contains("params")) component["params"] = json::object();
    json& params = component["params"];
    if (!params.is_object()) return;  // the core schema reports it
    const PluginSchema& schema = plugin_schema(*info);
    if (!schema.problem.empty()) {
      const Origin o = locator.origin(plugin_pointer);
      out->push_back({o.value.file, o.value.line, o.value.column,
                      kind + " '" + name + "' has an unusable params schema: " + schema.problem});
      return;
    }
    fill_defaults(schema.schema, schema.schema, &params);
    SchemaChecker checker(schema.schema, locator);
    checker.check_with_backstop(schema.schema, *schema.compiled, params,
                                std::string(slot.pointer) + "/params", "params", out);
  }

  const PluginSchema& plugin_schema(const ComponentInfo& info) {
    const std::string key = std::string(kind_name(info.kind)) + "/" + info.name;
    auto found = plugin_schemas_.find(key);
    if (found != plugin_schemas_.end()) return found->second;
    PluginSchema& entry = plugin_schemas_[key];
    try {
      entry.schema = json::parse(info.schema.empty() ? std::string("{}") : info.schema);
      entry.compiled = std::make_unique<CompiledSchema>(entry.schema);
    } catch (const std::exception& e) {
      entry.problem = e.what();
    }
    return entry;
  }

  const Document& doc_;
  const Registry* registry_;
  json model_schema_;
  std::unique_ptr<CompiledSchema> core_compiled_;
  std::map<std::string, PluginSchema> plugin_schemas_;
};

}  // namespace

Resolution resolve(const Document& document, const Registry* registry) {
  Resolution resolution;
  Resolver(document, registry).run(&resolution);
  return resolution;
}

bool names_cell(const ResolvedModel& cell, const std::string& name) {
  return name == cell.name || name == cell.model;
}

std::vector<std::size_t> with_publishers(const Plan& plan, const std::vector<std::string>& names) {
  std::vector<bool> chosen(plan.models.size(), false);
  for (std::size_t i = 0; i < plan.models.size(); ++i) {
    for (const std::string& name : names) chosen[i] = chosen[i] || names_cell(plan.models[i], name);
  }
  // Publishers come earlier, so one pass backwards closes the set.
  for (std::size_t i = plan.models.size(); i-- > 0;) {
    if (chosen[i] && plan.models[i].publisher < plan.models.size()) {
      chosen[plan.models[i].publisher] = true;
    }
  }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    if (chosen[i]) out.push_back(i);
  }
  return out;
}

Diagnostic diagnostic_at(const ResolvedModel& model, const std::string& pointer,
                         const std::string& message) {
  const Origin origin = find_origin(model.origins, pointer);
  // A value created by defaults has no origin of its own: the model's entry stands for it.
  const Position& at = origin.value.line > 0 ? origin.value : model.at;
  return {at.file, at.line, at.column, message};
}

std::string plan_to_text(const Plan& plan) {
  std::string text = "experiment " + plan.experiment + " (" + plan.file +
                     "): " + std::to_string(plan.models.size()) +
                     (plan.models.size() == 1 ? " model\n" : " models\n");
  for (const std::string& base : plan.bases) text += "extends " + base + "\n";
  for (const std::string& path : plan.plugin_paths) text += "plugin path " + path + "\n";
  for (const ResolvedModel& model : plan.models) {
    text += "\nmodel " + model.name + "  " + model.hash.substr(0, 12) + "\n";
    if (model.replicates > 1) {
      text += "replicate " + std::to_string(model.replicate + 1) + " of " +
              std::to_string(model.replicates) + (model.vary_training ? ", training varied" : "") +
              "\n";
    }
    text += model.json.dump(2) + "\n";
  }
  return text;
}

}  // namespace tlr::config
