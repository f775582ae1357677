#include "tlr/registry.h"

#include <algorithm>
#include <variant>

#include "tlr/error.h"

namespace tlr {

const char* kind_name(Kind kind) {
  switch (kind) {
    case Kind::dataset:
      return "dataset";
    case Kind::augmenter:
      return "augmenter";
    case Kind::backbone:
      return "backbone";
    case Kind::head:
      return "head";
    case Kind::strategy:
      return "strategy";
  }
  return "?";
}

struct Registry::Impl {
  using Factory =
      std::variant<DatasetFactory, AugmenterFactory, BackboneFactory, HeadFactory, StrategyFactory>;
  struct Entry {
    ComponentInfo info;
    Factory make;
  };
  std::vector<Entry> entries;
  std::string library, plugin, version;

  const Entry* find(Kind kind, const std::string& name) const {
    for (const auto& e : entries) {
      if (e.info.kind == kind && e.info.name == name) return &e;
    }
    return nullptr;
  }

  void add(Kind kind, const std::string& name, Factory make, const std::string& schema,
           const std::string& summary) {
    if (const Entry* old = find(kind, name)) {
      throw Error(library + ": error: duplicate " + kind_name(kind) + " '" + name +
                  "', already registered by " + old->info.library);
    }
    Entry e;
    e.info.kind = kind;
    e.info.name = name;
    e.info.summary = summary;
    e.info.schema = schema.empty() || schema == "{}" ? R"({"type":"object"})" : schema;
    e.info.library = library;
    e.info.plugin = plugin;
    e.info.plugin_version = version;
    e.make = std::move(make);
    entries.push_back(std::move(e));
  }

  template <typename F>
  const F& factory(Kind kind, const std::string& name) const {
    const Entry* e = find(kind, name);
    if (e == nullptr) throw Error(std::string("unknown ") + kind_name(kind) + " '" + name + "'");
    return std::get<F>(e->make);
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

void Registry::dataset(const std::string& name, DatasetFactory make, const std::string& schema,
                       const std::string& summary) {
  impl_->add(Kind::dataset, name, std::move(make), schema, summary);
}
void Registry::augmenter(const std::string& name, AugmenterFactory make, const std::string& schema,
                         const std::string& summary) {
  impl_->add(Kind::augmenter, name, std::move(make), schema, summary);
}
void Registry::backbone(const std::string& name, BackboneFactory make, const std::string& schema,
                        const std::string& summary) {
  impl_->add(Kind::backbone, name, std::move(make), schema, summary);
}
void Registry::head(const std::string& name, HeadFactory make, const std::string& schema,
                    const std::string& summary) {
  impl_->add(Kind::head, name, std::move(make), schema, summary);
}
void Registry::strategy(const std::string& name, StrategyFactory make, const std::string& schema,
                        const std::string& summary) {
  impl_->add(Kind::strategy, name, std::move(make), schema, summary);
}

void Registry::set_origin(const std::string& library, const std::string& plugin,
                          const std::string& version) {
  impl_->library = library;
  impl_->plugin = plugin;
  impl_->version = version;
}

void Registry::absorb(Registry& other) {
  for (const auto& e : other.impl_->entries) {
    if (const Impl::Entry* old = impl_->find(e.info.kind, e.info.name)) {
      throw Error(e.info.library + ": error: duplicate " + kind_name(e.info.kind) + " '" +
                  e.info.name + "', already registered by " + old->info.library);
    }
  }
  for (auto& e : other.impl_->entries) impl_->entries.push_back(std::move(e));
  other.impl_->entries.clear();
}

void Registry::erase(Kind kind, const std::string& name) {
  auto& entries = impl_->entries;
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&](const Impl::Entry& e) {
                                 return e.info.kind == kind && e.info.name == name;
                               }),
                entries.end());
}

std::vector<ComponentInfo> Registry::components() const {
  std::vector<ComponentInfo> out;
  for (const auto& e : impl_->entries) out.push_back(e.info);
  return out;
}

const ComponentInfo* Registry::find(Kind kind, const std::string& name) const {
  const Impl::Entry* e = impl_->find(kind, name);
  return e ? &e->info : nullptr;
}

std::unique_ptr<Dataset> Registry::make_dataset(const std::string& name, const Params& p,
                                                const Context& c) const {
  return impl_->factory<DatasetFactory>(Kind::dataset, name)(p, c);
}
std::unique_ptr<Augmenter> Registry::make_augmenter(const std::string& name, const Params& p,
                                                    const Context& c) const {
  return impl_->factory<AugmenterFactory>(Kind::augmenter, name)(p, c);
}
std::shared_ptr<Backbone> Registry::make_backbone(const std::string& name, const Params& p,
                                                  const Context& c) const {
  return impl_->factory<BackboneFactory>(Kind::backbone, name)(p, c);
}
std::unique_ptr<Head> Registry::make_head(const std::string& name, const Params& p,
                                          const Context& c) const {
  return impl_->factory<HeadFactory>(Kind::head, name)(p, c);
}
std::unique_ptr<Strategy> Registry::make_strategy(const std::string& name, const Params& p,
                                                  const Context& c) const {
  return impl_->factory<StrategyFactory>(Kind::strategy, name)(p, c);
}

}  // namespace tlr
