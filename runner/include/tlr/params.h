// Parameters of one component, as the user wrote them in YAML, with the defaults of the component's
// JSON Schema already filled in by the runner. Read-only; cheap to copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

class TLR_API Params {
 public:
  Params();  // an empty object
  // Parses a JSON object; throws tlr::Error if the text is not a JSON object.
  static Params from_json(const std::string& json_object);

  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;

  // Typed access. The one-argument forms throw tlr::Error naming the key when it is absent;
  // every form throws when the value has another type.
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  double number(const std::string& key) const;
  double number(const std::string& key, double fallback) const;
  std::int64_t integer(const std::string& key) const;
  std::int64_t integer(const std::string& key, std::int64_t fallback) const;
  bool boolean(const std::string& key) const;
  bool boolean(const std::string& key, bool fallback) const;
  std::vector<std::string> strings(const std::string& key) const;  // [] when absent
  std::vector<double> numbers(const std::string& key) const;       // [] when absent
  std::vector<std::int64_t> integers(const std::string& key) const;
  Params child(const std::string& key) const;  // {} when absent
  bool is_object(const std::string& key) const;
  bool is_list(const std::string& key) const;

  std::string json() const;  // compact JSON text with sorted keys (stable for hashing)

 private:
  struct Impl;
  explicit Params(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

// What a factory may need beyond its parameters.
struct TLR_API Context {
  std::string experiment_dir;  // folder of the YAML file; relative paths are resolved against it
  std::string cache_dir;       // results/cache
  std::string resolve(const std::string& path) const;  // absolute path for a user-given one
};

}  // namespace tlr
