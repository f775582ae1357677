// JSON Schema (draft 7) checks with messages a user can act on. The checker interprets the
// keywords experiment files and plugin schemas use (type, enum, const, properties, required,
// additionalProperties, patternProperties, items, min/max bounds and lengths, pattern, allOf,
// anyOf, oneOf, local $ref) and words each problem like a compiler. valijson validates the same
// value as a backstop: a problem only it finds (a keyword the checker does not interpret) is still
// reported, in valijson's words.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/config/diagnostic.h"
#include "core/config/source_map.h"

namespace tlr::config {

// Maps the JSON pointers of the checked value to positions in what the user wrote.
class Locator {
 public:
  virtual ~Locator();
  virtual Origin origin(const std::string& pointer) const = 0;
  // The problem "mapping at `object_pointer` lacks the required `key`".
  virtual Diagnostic missing(const std::string& object_pointer, const std::string& key) const = 0;
};

// A Locator over a SourceMap: "missing required key 'name' in models[2]" at the mapping.
class SourceMapLocator : public Locator {
 public:
  explicit SourceMapLocator(const SourceMap& map) : map_(map) {}
  Origin origin(const std::string& pointer) const override;
  Diagnostic missing(const std::string& object_pointer, const std::string& key) const override;

 private:
  const SourceMap& map_;
};

// A schema parsed by valijson, for the backstop check.
class CompiledSchema {
 public:
  // Throws std::exception with valijson's message when `schema` is not a usable JSON Schema.
  explicit CompiledSchema(const nlohmann::json& schema);
  ~CompiledSchema();
  CompiledSchema(const CompiledSchema&) = delete;
  CompiledSchema& operator=(const CompiledSchema&) = delete;

  struct Problem {
    std::string pointer;      // relative to the validated value
    std::string description;  // valijson's text
  };
  // The deepest problems valijson finds in `instance` (empty when it is valid).
  std::vector<Problem> validate(const nlohmann::json& instance) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SchemaChecker {
 public:
  // `root` is the schema document that "#/..." references resolve against.
  SchemaChecker(const nlohmann::json& root, const Locator& locator);

  // Checks `instance`, found at `pointer` of the located document, against `schema`. `name` is
  // how messages call the value when it is the one at fault ("'params' must be a mapping").
  void check(const nlohmann::json& schema, const nlohmann::json& instance,
             const std::string& pointer, const std::string& name,
             std::vector<Diagnostic>* out) const;

  // check() and then, only when it found nothing, the valijson backstop with `compiled` (a
  // CompiledSchema of `schema`).
  void check_with_backstop(const nlohmann::json& schema, const CompiledSchema& compiled,
                           const nlohmann::json& instance, const std::string& pointer,
                           const std::string& name, std::vector<Diagnostic>* out) const;

 private:
  void check_node(const nlohmann::json& schema, const nlohmann::json& instance,
                  const std::string& pointer, const std::string& name, bool layer,
                  std::vector<Diagnostic>* out) const;
  void check_branches(const nlohmann::json& branches, const nlohmann::json& instance,
                      const std::string& pointer, const std::string& name, bool layer,
                      std::vector<Diagnostic>* out) const;
  void check_object(const nlohmann::json& schema, const nlohmann::json& instance,
                    const std::string& pointer, bool layer, std::vector<Diagnostic>* out) const;
  void check_array(const nlohmann::json& schema, const nlohmann::json& instance,
                   const std::string& pointer, const std::string& name, bool layer,
                   std::vector<Diagnostic>* out) const;
  void check_scalar(const nlohmann::json& schema, const nlohmann::json& instance,
                    const std::string& pointer, const std::string& name,
                    std::vector<Diagnostic>* out) const;
  Diagnostic at_value(const std::string& pointer, const std::string& message) const;

  const nlohmann::json& root_;
  const Locator& locator_;
};

// The schema `schema` refers to when it is a local {"$ref": "#/..."} (followed repeatedly), else
// `schema` itself.
const nlohmann::json& resolve_ref(const nlohmann::json& root, const nlohmann::json& schema);

// Fills in the "default" of every property `instance` lacks, recursively: a missing mapping whose
// properties have defaults is created with them. Walks properties, items, allOf and $ref; leaves
// anyOf/oneOf alone (which branch applies is not known).
void fill_defaults(const nlohmann::json& root, const nlohmann::json& schema,
                   nlohmann::json* instance);

// "a string", "an integer", "a mapping", "a list", ... for messages.
std::string json_type_name(const nlohmann::json& value);

}  // namespace tlr::config
