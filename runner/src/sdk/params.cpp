#include "tlr/params.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "tlr/error.h"

namespace tlr {

struct Params::Impl {
  nlohmann::json value = nlohmann::json::object();
};

namespace {

const char* type_word(const nlohmann::json& v) {
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a mapping";
  return "null";
}

[[noreturn]] void wrong_type(const std::string& key, const char* expected,
                             const nlohmann::json& v) {
  throw Error("parameter '" + key + "': expected " + expected + ", got " + type_word(v));
}

const nlohmann::json* lookup(const nlohmann::json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? nullptr : &*it;
}

const nlohmann::json& required(const nlohmann::json& object, const std::string& key) {
  const nlohmann::json* v = lookup(object, key);
  if (v == nullptr) throw Error("parameter '" + key + "' is required");
  return *v;
}

std::string as_string(const std::string& key, const nlohmann::json& v) {
  if (!v.is_string()) wrong_type(key, "a string", v);
  return v.get<std::string>();
}
double as_number(const std::string& key, const nlohmann::json& v) {
  if (!v.is_number()) wrong_type(key, "a number", v);
  return v.get<double>();
}
std::int64_t as_integer(const std::string& key, const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) return static_cast<std::int64_t>(d);
  }
  wrong_type(key, "an integer", v);
}
bool as_boolean(const std::string& key, const nlohmann::json& v) {
  if (!v.is_boolean()) wrong_type(key, "a boolean", v);
  return v.get<bool>();
}

template <typename T, typename Convert>
std::vector<T> as_list(const nlohmann::json& object, const std::string& key, Convert convert) {
  std::vector<T> out;
  const nlohmann::json* v = lookup(object, key);
  if (v == nullptr) return out;
  if (!v->is_array()) wrong_type(key, "a list", *v);
  for (std::size_t i = 0; i < v->size(); ++i) {
    out.push_back(convert(key + "[" + std::to_string(i) + "]", (*v)[i]));
  }
  return out;
}

}  // namespace

Params::Params() : impl_(std::make_shared<Impl>()) {}
Params::Params(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Params Params::from_json(const std::string& json_object) {
  auto impl = std::make_shared<Impl>();
  try {
    impl->value = nlohmann::json::parse(json_object);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("parameters: error: not valid JSON: ") + e.what());
  }
  if (impl->value.is_null()) impl->value = nlohmann::json::object();
  if (!impl->value.is_object()) throw Error("parameters: error: expected a mapping");
  return Params(std::move(impl));
}

bool Params::has(const std::string& key) const { return lookup(impl_->value, key) != nullptr; }

std::vector<std::string> Params::keys() const {
  std::vector<std::string> out;
  for (auto it = impl_->value.begin(); it != impl_->value.end(); ++it) out.push_back(it.key());
  return out;
}

std::string Params::string(const std::string& key) const {
  return as_string(key, required(impl_->value, key));
}
std::string Params::string(const std::string& key, const std::string& fallback) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  return v ? as_string(key, *v) : fallback;
}
double Params::number(const std::string& key) const {
  return as_number(key, required(impl_->value, key));
}
double Params::number(const std::string& key, double fallback) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  return v ? as_number(key, *v) : fallback;
}
std::int64_t Params::integer(const std::string& key) const {
  return as_integer(key, required(impl_->value, key));
}
std::int64_t Params::integer(const std::string& key, std::int64_t fallback) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  return v ? as_integer(key, *v) : fallback;
}
bool Params::boolean(const std::string& key) const {
  return as_boolean(key, required(impl_->value, key));
}
bool Params::boolean(const std::string& key, bool fallback) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  return v ? as_boolean(key, *v) : fallback;
}
std::vector<std::string> Params::strings(const std::string& key) const {
  return as_list<std::string>(impl_->value, key, as_string);
}
std::vector<double> Params::numbers(const std::string& key) const {
  return as_list<double>(impl_->value, key, as_number);
}
std::vector<std::int64_t> Params::integers(const std::string& key) const {
  return as_list<std::int64_t>(impl_->value, key, as_integer);
}
Params Params::child(const std::string& key) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  auto impl = std::make_shared<Impl>();
  if (v != nullptr) {
    if (!v->is_object()) wrong_type(key, "a mapping", *v);
    impl->value = *v;
  }
  return Params(std::move(impl));
}
bool Params::is_object(const std::string& key) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  return v != nullptr && v->is_object();
}
bool Params::is_list(const std::string& key) const {
  const nlohmann::json* v = lookup(impl_->value, key);
  return v != nullptr && v->is_array();
}

std::string Params::json() const { return impl_->value.dump(); }

std::string Context::resolve(const std::string& path) const {
  std::filesystem::path p(path);
  if (p.is_absolute() || experiment_dir.empty()) return p.lexically_normal().string();
  return (std::filesystem::path(experiment_dir) / p).lexically_normal().string();
}

}  // namespace tlr
