#include "core/config/schema_checker.h"

#include <regex>
#include <set>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wextra"
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>
#pragma GCC diagnostic pop

#include "tlr/names.h"

namespace tlr::config {
namespace {

using nlohmann::json;

const json& empty_schema() {
  static const json kEmpty = json::object();
  return kEmpty;
}

std::string schema_type_name(const std::string& type) {
  if (type == "integer") return "an integer";
  if (type == "object") return "a mapping";
  if (type == "array") return "a list";
  if (type == "null") return "null";
  return "a " + type;  // a string, a number, a boolean
}

bool matches_type(const std::string& type, const json& value) {
  if (type == "integer") return value.is_number_integer();
  if (type == "number") return value.is_number();
  if (type == "string") return value.is_string();
  if (type == "boolean") return value.is_boolean();
  if (type == "object") return value.is_object();
  if (type == "array") return value.is_array();
  if (type == "null") return value.is_null();
  return true;  // unknown type names: left to the backstop
}

std::vector<std::string> declared_types(const json& schema) {
  std::vector<std::string> types;
  if (!schema.is_object() || !schema.contains("type")) return types;
  const json& type = schema["type"];
  if (type.is_string()) types.push_back(type.get<std::string>());
  if (type.is_array()) {
    for (const json& t : type) {
      if (t.is_string()) types.push_back(t.get<std::string>());
    }
  }
  return types;
}

bool type_allows(const json& schema, const json& value) {
  std::vector<std::string> types = declared_types(schema);
  if (types.empty()) return true;
  for (const std::string& t : types) {
    if (matches_type(t, value)) return true;
  }
  return false;
}

// "a, b or c".
std::string join_or(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

// A value as a message quotes it: strings in quotes, the rest as JSON.
std::string quoted(const json& value) {
  return value.is_string() ? "'" + value.get<std::string>() + "'" : value.dump();
}

// An enum member in a "one of" list: strings bare.
std::string bare(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string item_name(const std::string& name, std::size_t index) {
  return name + "[" + std::to_string(index) + "]";
}

}  // namespace

Locator::~Locator() = default;

Origin SourceMapLocator::origin(const std::string& pointer) const {
  return find_origin(map_, pointer);
}

Diagnostic SourceMapLocator::missing(const std::string& object_pointer,
                                     const std::string& key) const {
  const Origin o = find_origin(map_, object_pointer);
  return {o.value.file, o.value.line, o.value.column,
          "missing required key '" + key + "' " + in_place(o.path)};
}

const json& resolve_ref(const json& root, const json& schema) {
  const json* current = &schema;
  for (int depth = 0; depth < 64; ++depth) {
    if (!current->is_object() || !current->contains("$ref")) return *current;
    const json& ref = (*current)["$ref"];
    if (!ref.is_string()) return *current;
    const std::string text = ref.get<std::string>();
    if (text.empty() || text[0] != '#') return empty_schema();  // remote: backstop's business
    try {
      const json::json_pointer target(text.substr(1));
      if (!root.contains(target)) return empty_schema();
      current = &root.at(target);
    } catch (const json::exception&) {
      return empty_schema();
    }
  }
  return empty_schema();
}

std::string json_type_name(const json& value) {
  if (value.is_number_integer()) return "an integer";
  if (value.is_number()) return "a number";
  if (value.is_string()) return "a string";
  if (value.is_boolean()) return "a boolean";
  if (value.is_array()) return "a list";
  if (value.is_object()) return "a mapping";
  return "null";
}

// ---- valijson backstop ----

struct CompiledSchema::Impl {
  valijson::Schema schema;
  json document;  // the adapter refers to it while parsing only, but keep it alive regardless
};

CompiledSchema::CompiledSchema(const json& schema) : impl_(std::make_unique<Impl>()) {
  impl_->document = schema;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter adapter(impl_->document);
  parser.populateSchema(adapter, impl_->schema);
}

CompiledSchema::~CompiledSchema() = default;

std::vector<CompiledSchema::Problem> CompiledSchema::validate(const json& instance) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::adapters::NlohmannJsonAdapter target(instance);
  valijson::ValidationResults results;
  std::vector<Problem> all;
  if (validator.validate(impl_->schema, target, &results)) return all;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string pointer;
    for (std::size_t i = 1; i < error.context.size(); ++i) {
      std::string token = error.context[i];
      if (token.size() >= 2 && token.front() == '[' && token.back() == ']') {
        token = token.substr(1, token.size() - 2);
      }
      pointer = pointer_append(pointer, token);
    }
    all.push_back({pointer, error.description});
  }
  // Keep the deepest: a failing property also fails every mapping that holds it.
  std::vector<Problem> deepest;
  for (const Problem& p : all) {
    bool has_deeper = false;
    for (const Problem& q : all) {
      if (q.pointer.size() > p.pointer.size() &&
          q.pointer.compare(0, p.pointer.size(), p.pointer) == 0 &&
          q.pointer[p.pointer.size()] == '/') {
        has_deeper = true;
      }
    }
    if (!has_deeper) deepest.push_back(p);
  }
  return deepest;
}

// ---- checker ----

SchemaChecker::SchemaChecker(const json& root, const Locator& locator)
    : root_(root), locator_(locator) {}

Diagnostic SchemaChecker::at_value(const std::string& pointer, const std::string& message) const {
  const Origin o = locator_.origin(pointer);
  return {o.value.file, o.value.line, o.value.column, message};
}

void SchemaChecker::check(const json& schema, const json& instance, const std::string& pointer,
                          const std::string& name, std::vector<Diagnostic>* out) const {
  check_node(schema, instance, pointer, name, false, out);
}

void SchemaChecker::check_with_backstop(const json& schema, const CompiledSchema& compiled,
                                        const json& instance, const std::string& pointer,
                                        const std::string& name,
                                        std::vector<Diagnostic>* out) const {
  std::vector<Diagnostic> found;
  check(schema, instance, pointer, name, &found);
  if (found.empty()) {
    for (const CompiledSchema::Problem& problem : compiled.validate(instance)) {
      std::string text = problem.description;
      if (!text.empty()) text[0] = static_cast<char>(std::tolower(text[0]));
      while (!text.empty() && (text.back() == '.' || text.back() == ' ')) text.pop_back();
      const std::string at = pointer + problem.pointer;
      const std::string what = problem.pointer.empty() ? name : pointer_last(at);
      found.push_back(at_value(at, "'" + what + "' is invalid: " + text));
    }
  }
  out->insert(out->end(), found.begin(), found.end());
}

void SchemaChecker::check_node(const json& schema_in, const json& instance,
                               const std::string& pointer, const std::string& name, bool layer,
                               std::vector<Diagnostic>* out) const {
  if (schema_in.is_boolean()) {
    if (!schema_in.get<bool>()) out->push_back(at_value(pointer, "'" + name + "' is not allowed"));
    return;
  }
  if (!schema_in.is_object()) return;
  if (schema_in.value("x-tlr-layer", false)) layer = true;
  if (layer && instance.is_null()) return;  // a null in a merge layer removes the key
  const json& schema = resolve_ref(root_, schema_in);
  if (&schema != &schema_in) {
    check_node(schema, instance, pointer, name, layer, out);
    return;
  }
  if (schema.contains("allOf") && schema["allOf"].is_array()) {
    for (const json& branch : schema["allOf"])
      check_node(branch, instance, pointer, name, layer, out);
  }
  for (const char* keyword : {"anyOf", "oneOf"}) {
    if (schema.contains(keyword) && schema[keyword].is_array()) {
      check_branches(schema[keyword], instance, pointer, name, layer, out);
    }
  }
  if (!type_allows(schema, instance)) {
    std::vector<std::string> names;
    for (const std::string& t : declared_types(schema)) names.push_back(schema_type_name(t));
    out->push_back(at_value(
        pointer, "'" + name + "' must be " + join_or(names) + ", got " + json_type_name(instance)));
    return;
  }
  if (instance.is_object()) {
    check_object(schema, instance, pointer, layer, out);
  } else if (instance.is_array()) {
    check_array(schema, instance, pointer, name, layer, out);
  }
  check_scalar(schema, instance, pointer, name, out);
}

void SchemaChecker::check_branches(const json& branches, const json& instance,
                                   const std::string& pointer, const std::string& name, bool layer,
                                   std::vector<Diagnostic>* out) const {
  std::vector<const json*> candidates;
  std::vector<std::string> names;
  for (const json& branch : branches) {
    const json& resolved = resolve_ref(root_, branch);
    if (type_allows(resolved, instance)) candidates.push_back(&resolved);
    for (const std::string& t : declared_types(resolved)) {
      const std::string n = schema_type_name(t);
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    }
  }
  if (candidates.empty()) {
    out->push_back(at_value(
        pointer, "'" + name + "' must be " + join_or(names) + ", got " + json_type_name(instance)));
    return;
  }
  std::vector<Diagnostic> best;
  bool have_best = false;
  for (const json* candidate : candidates) {
    std::vector<Diagnostic> found;
    check_node(*candidate, instance, pointer, name, layer, &found);
    if (found.empty()) return;
    if (!have_best || found.size() < best.size()) {
      best = std::move(found);
      have_best = true;
    }
  }
  out->insert(out->end(), best.begin(), best.end());
}

void SchemaChecker::check_object(const json& schema, const json& instance,
                                 const std::string& pointer, bool layer,
                                 std::vector<Diagnostic>* out) const {
  const json& properties = schema.contains("properties") && schema["properties"].is_object()
                               ? schema["properties"]
                               : empty_schema();
  const json& patterns =
      schema.contains("patternProperties") && schema["patternProperties"].is_object()
          ? schema["patternProperties"]
          : empty_schema();
  if (!layer && schema.contains("required") && schema["required"].is_array()) {
    for (const json& key : schema["required"]) {
      if (key.is_string() && !instance.contains(key.get<std::string>())) {
        out->push_back(locator_.missing(pointer, key.get<std::string>()));
      }
    }
  }
  std::vector<std::string> known;
  for (auto it = properties.begin(); it != properties.end(); ++it) known.push_back(it.key());
  for (auto it = instance.begin(); it != instance.end(); ++it) {
    const std::string& key = it.key();
    const std::string child = pointer_append(pointer, key);
    if (layer && it.value().is_null()) continue;
    bool matched = false;
    if (properties.contains(key)) {
      matched = true;
      check_node(properties[key], it.value(), child, key, layer, out);
    }
    for (auto p = patterns.begin(); p != patterns.end(); ++p) {
      try {
        if (std::regex_search(key, std::regex(p.key()))) {
          matched = true;
          check_node(p.value(), it.value(), child, key, layer, out);
        }
      } catch (const std::regex_error&) {
        // An unusable pattern is the schema's fault; the backstop reports it.
      }
    }
    if (matched || !schema.contains("additionalProperties")) continue;
    const json& additional = schema["additionalProperties"];
    if (additional.is_boolean() && !additional.get<bool>()) {
      const Origin o = locator_.origin(child);
      out->push_back(
          {o.key.file, o.key.line, o.key.column,
           "unknown key '" + key + "' " + in_place(o.container) + did_you_mean(key, known)});
    } else {
      check_node(additional, it.value(), child, key, layer, out);
    }
  }
}

void SchemaChecker::check_array(const json& schema, const json& instance,
                                const std::string& pointer, const std::string& name, bool layer,
                                std::vector<Diagnostic>* out) const {
  const std::size_t size = instance.size();
  if (schema.contains("minItems") && schema["minItems"].is_number_unsigned() &&
      size < schema["minItems"].get<std::size_t>()) {
    const std::size_t n = schema["minItems"].get<std::size_t>();
    out->push_back(at_value(pointer, "'" + name + "' must have at least " + std::to_string(n) +
                                         (n == 1 ? " item" : " items") + ", got " +
                                         std::to_string(size)));
  }
  if (schema.contains("maxItems") && schema["maxItems"].is_number_unsigned() &&
      size > schema["maxItems"].get<std::size_t>()) {
    const std::size_t n = schema["maxItems"].get<std::size_t>();
    out->push_back(at_value(pointer, "'" + name + "' must have at most " + std::to_string(n) +
                                         (n == 1 ? " item" : " items") + ", got " +
                                         std::to_string(size)));
  }
  if (schema.value("uniqueItems", false)) {
    for (std::size_t i = 0; i < size; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        if (instance[i] == instance[j]) {
          out->push_back(at_value(pointer_append(pointer, i),
                                  "'" + item_name(name, i) + "' repeats " + quoted(instance[i])));
        }
      }
    }
  }
  if (!schema.contains("items")) return;
  const json& items = schema["items"];
  for (std::size_t i = 0; i < size; ++i) {
    const json* item_schema = &items;
    if (items.is_array()) {
      if (i >= items.size()) break;  // additionalItems: left to the backstop
      item_schema = &items[i];
    }
    check_node(*item_schema, instance[i], pointer_append(pointer, i), item_name(name, i), layer,
               out);
  }
}

void SchemaChecker::check_scalar(const json& schema, const json& instance,
                                 const std::string& pointer, const std::string& name,
                                 std::vector<Diagnostic>* out) const {
  const std::string what = "'" + name + "'";
  if (schema.contains("enum") && schema["enum"].is_array()) {
    const json& values = schema["enum"];
    if (std::find(values.begin(), values.end(), instance) == values.end()) {
      std::vector<std::string> listed;
      std::vector<std::string> words;
      for (const json& v : values) {
        listed.push_back(bare(v));
        if (v.is_string()) words.push_back(v.get<std::string>());
      }
      std::string list;
      for (const std::string& l : listed) list += (list.empty() ? "" : ", ") + l;
      std::string message = what + " must be one of " + list + "; got " + quoted(instance);
      if (instance.is_string()) message += did_you_mean(instance.get<std::string>(), words);
      out->push_back(at_value(pointer, message));
    }
  }
  if (schema.contains("const") && schema["const"] != instance) {
    out->push_back(at_value(
        pointer, what + " must be " + quoted(schema["const"]) + ", got " + quoted(instance)));
  }
  if (instance.is_number()) {
    const double v = instance.get<double>();
    struct Bound {
      const char* keyword;
      const char* relation;
      bool (*ok)(double, double);
    };
    static const Bound kBounds[] = {
        {"minimum", ">=", [](double x, double b) { return x >= b; }},
        {"maximum", "<=", [](double x, double b) { return x <= b; }},
        {"exclusiveMinimum", ">", [](double x, double b) { return x > b; }},
        {"exclusiveMaximum", "<", [](double x, double b) { return x < b; }},
    };
    for (const Bound& bound : kBounds) {
      if (schema.contains(bound.keyword) && schema[bound.keyword].is_number() &&
          !bound.ok(v, schema[bound.keyword].get<double>())) {
        out->push_back(at_value(pointer, what + " must be " + bound.relation + " " +
                                             schema[bound.keyword].dump() + ", got " +
                                             instance.dump()));
      }
    }
  }
  if (instance.is_string()) {
    const std::string& s = instance.get_ref<const std::string&>();
    if (schema.contains("minLength") && schema["minLength"].is_number_unsigned() &&
        s.size() < schema["minLength"].get<std::size_t>()) {
      const std::size_t n = schema["minLength"].get<std::size_t>();
      out->push_back(at_value(pointer, n == 1
                                           ? what + " must not be empty"
                                           : what + " must have at least " + std::to_string(n) +
                                                 " characters, got " + std::to_string(s.size())));
    }
    if (schema.contains("maxLength") && schema["maxLength"].is_number_unsigned() &&
        s.size() > schema["maxLength"].get<std::size_t>()) {
      out->push_back(at_value(pointer, what + " must have at most " + schema["maxLength"].dump() +
                                           " characters, got " + std::to_string(s.size())));
    }
    if (schema.contains("pattern") && schema["pattern"].is_string()) {
      try {
        if (!std::regex_search(s, std::regex(schema["pattern"].get<std::string>()))) {
          out->push_back(at_value(pointer, what + " must match '" +
                                               schema["pattern"].get<std::string>() + "', got " +
                                               quoted(instance)));
        }
      } catch (const std::regex_error&) {
        // The backstop reports an unusable pattern.
      }
    }
  }
}

// ---- defaults ----

void fill_defaults(const json& root, const json& schema_in, json* instance) {
  const json& schema = resolve_ref(root, schema_in);
  if (!schema.is_object()) return;
  if (schema.contains("allOf") && schema["allOf"].is_array()) {
    for (const json& branch : schema["allOf"]) fill_defaults(root, branch, instance);
  }
  if (instance->is_object() && schema.contains("properties") && schema["properties"].is_object()) {
    for (auto it = schema["properties"].begin(); it != schema["properties"].end(); ++it) {
      const json& property = resolve_ref(root, it.value());
      if (instance->contains(it.key())) {
        fill_defaults(root, property, &(*instance)[it.key()]);
      } else if (property.is_object() && property.contains("default")) {
        json value = property["default"];
        fill_defaults(root, property, &value);
        (*instance)[it.key()] = std::move(value);
      } else if (property.is_object() && property.contains("properties") &&
                 type_allows(property, json::object())) {
        json value = json::object();
        fill_defaults(root, property, &value);
        if (!value.empty()) (*instance)[it.key()] = std::move(value);
      }
    }
  }
  if (instance->is_array() && schema.contains("items") && schema["items"].is_object()) {
    for (json& item : *instance) fill_defaults(root, schema["items"], &item);
  }
}

}  // namespace tlr::config
