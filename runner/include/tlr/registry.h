// Where a plugin's register function adds its components. Explicit registration only: a
// component exists because the plugin's entry point added it, never through a static initialiser.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tlr/abi.h"
#include "tlr/augmenter.h"
#include "tlr/backbone.h"
#include "tlr/dataset.h"
#include "tlr/head.h"
#include "tlr/params.h"
#include "tlr/strategy.h"

namespace tlr {

enum class Kind { dataset, augmenter, backbone, head, strategy };
TLR_API const char* kind_name(Kind kind);  // "dataset", "augmenter", ...

using DatasetFactory = std::function<std::unique_ptr<Dataset>(const Params&, const Context&)>;
using AugmenterFactory = std::function<std::unique_ptr<Augmenter>(const Params&, const Context&)>;
using BackboneFactory = std::function<std::shared_ptr<Backbone>(const Params&, const Context&)>;
using HeadFactory = std::function<std::unique_ptr<Head>(const Params&, const Context&)>;
using StrategyFactory = std::function<std::unique_ptr<Strategy>(const Params&, const Context&)>;

// The description a component gives of itself. `schema` is a JSON Schema (draft 7) of its params
// object: "type", "default" and "description" of each property are shown by `runner plugins`, and
// the runner validates the YAML against it and fills in the defaults before the factory runs.
struct ComponentInfo {
  Kind kind = Kind::dataset;
  std::string name;
  std::string summary;  // one line
  std::string schema = R"({"type":"object"})";
  std::string library;         // filled in by the loader: the .so file
  std::string plugin;          // filled in by the loader: the plugin's name
  std::string plugin_version;  // filled in by the loader
};

class TLR_API Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each adds one component; the schema string is a JSON Schema of the params object.
  void dataset(const std::string& name, DatasetFactory make, const std::string& schema = "{}",
               const std::string& summary = "");
  void augmenter(const std::string& name, AugmenterFactory make, const std::string& schema = "{}",
                 const std::string& summary = "");
  void backbone(const std::string& name, BackboneFactory make, const std::string& schema = "{}",
                const std::string& summary = "");
  void head(const std::string& name, HeadFactory make, const std::string& schema = "{}",
            const std::string& summary = "");
  void strategy(const std::string& name, StrategyFactory make, const std::string& schema = "{}",
                const std::string& summary = "");

  // --- used by the runner ---
  // Library and plugin the next registrations belong to (set by the loader around register_fn).
  void set_origin(const std::string& library, const std::string& plugin,
                  const std::string& version);
  // Moves every component of `other` into this registry; throws tlr::Error naming both libraries
  // (and changes nothing) when a (kind, name) pair is already present.
  void absorb(Registry& other);
  // Removes a component (nothing when absent): the loader drops one that a library earlier on the
  // plugin path already provides.
  void erase(Kind kind, const std::string& name);
  // Every component, in registration order.
  std::vector<ComponentInfo> components() const;
  // nullptr when absent.
  const ComponentInfo* find(Kind kind, const std::string& name) const;
  std::unique_ptr<Dataset> make_dataset(const std::string& name, const Params& p,
                                        const Context& c) const;
  std::unique_ptr<Augmenter> make_augmenter(const std::string& name, const Params& p,
                                            const Context& c) const;
  std::shared_ptr<Backbone> make_backbone(const std::string& name, const Params& p,
                                          const Context& c) const;
  std::unique_ptr<Head> make_head(const std::string& name, const Params& p, const Context& c) const;
  std::unique_ptr<Strategy> make_strategy(const std::string& name, const Params& p,
                                          const Context& c) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tlr
