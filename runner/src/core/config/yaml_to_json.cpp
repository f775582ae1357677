#include "core/config/yaml_to_json.h"

// GCC 12 flags yaml-cpp 0.7's node iterators (inlined here) with a false -Wdangling-pointer; the
// warning comes from the optimiser, so it must be off for the whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>

namespace tlr::config {
namespace {

const char* const kTagPrefix = "tag:yaml.org,2002:";

// Bounds on what a document may expand to. yaml-cpp shares an aliased node instead of copying it,
// but the JSON value copies it at every alias: nine aliases nine levels deep (a 1.6 KB "billion
// laughs" file) would be 9^9 values. An experiment file has hundreds of values and a handful of
// levels; these limits are far beyond any real one and far below what exhausts memory.
constexpr std::size_t kMaxValues = 100000;
constexpr int kMaxDepth = 256;

// The offset of the first byte of `text` that is not part of well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos. YAML files are UTF-8, and every
// string of the document ends up in JSON, which refuses anything else.
std::size_t first_invalid_utf8(const std::string& text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  for (std::size_t i = 0; i < size;) {
    const unsigned char lead = bytes[i];
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > size || bytes[i + 1] < low || bytes[i + 1] > high) return i;
    for (std::size_t k = 2; k < length; ++k) {
      if (bytes[i + k] < 0x80 || bytes[i + k] > 0xBF) return i;
    }
    i += length;
  }
  return std::string::npos;
}

// Thrown inside the converter when a bound is crossed; becomes one located diagnostic.
struct TooLarge {
  YAML::Mark mark;
  std::string message;
};

struct Converter {
  std::string file;
  bool has_lines;
  YamlJson* out;
  std::size_t values = 0;
  int depth = 0;

  Position position(const YAML::Mark& mark, const YAML::Mark& fallback) const {
    Position p;
    p.file = file;
    if (!has_lines) return p;
    const YAML::Mark& m = mark.is_null() || mark.line < 0 ? fallback : mark;
    if (m.is_null() || m.line < 0) return p;
    p.line = m.line + 1;
    p.column = m.column + 1;
    return p;
  }

  static nlohmann::json plain_scalar(const std::string& s) {
    static const std::regex kInt("[-+]?[0-9]+");
    static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
    if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    if (std::regex_match(s, kInt)) {
      errno = 0;
      const long long v = std::strtoll(s.c_str(), nullptr, 10);
      if (errno != ERANGE) return v;
      return std::strtod(s.c_str(), nullptr);
    }
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
      const std::string digits = s.substr(2);
      const char* allowed = s[1] == 'x' ? "0123456789abcdefABCDEF" : "01234567";
      if (digits.find_first_not_of(allowed) == std::string::npos) {
        return std::strtoll(digits.c_str(), nullptr, s[1] == 'x' ? 16 : 8);
      }
    }
    if (std::regex_match(s, kFloat)) return std::strtod(s.c_str(), nullptr);
    if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") {
      return std::numeric_limits<double>::infinity();
    }
    if (s == "-.inf" || s == "-.Inf" || s == "-.INF")
      return -std::numeric_limits<double>::infinity();
    if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
    return s;
  }

  static nlohmann::json scalar(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    const std::string& s = node.Scalar();
    if (tag == "?") return plain_scalar(s);
    if (tag.compare(0, std::char_traits<char>::length(kTagPrefix), kTagPrefix) == 0) {
      const std::string type = tag.substr(std::char_traits<char>::length(kTagPrefix));
      nlohmann::json plain = plain_scalar(s);
      if (type == "int" && plain.is_number_integer()) return plain;
      if (type == "float" && plain.is_number()) return plain.get<double>();
      if (type == "bool" && plain.is_boolean()) return plain;
      if (type == "null" && plain.is_null()) return plain;
    }
    return s;  // quoted ("!"), !!str, unknown tags
  }

  nlohmann::json convert(const YAML::Node& node, const std::string& pointer) {
    if (++values > kMaxValues) {
      throw TooLarge{node.Mark(), "the document expands to more than " +
                                      std::to_string(kMaxValues) +
                                      " values (aliases of aliases?); refused"};
    }
    if (node.IsMap() || node.IsSequence()) {
      if (depth >= kMaxDepth) {
        throw TooLarge{node.Mark(),
                       "nested more than " + std::to_string(kMaxDepth) + " levels deep; refused"};
      }
      ++depth;
      nlohmann::json value = convert_collection(node, pointer);
      --depth;
      return value;
    }
    return node.IsScalar() ? scalar(node) : nlohmann::json(nullptr);
  }

  nlohmann::json convert_collection(const YAML::Node& node, const std::string& pointer) {
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node);
      case YAML::NodeType::Sequence: {
        nlohmann::json array = nlohmann::json::array();
        std::size_t index = 0;
        for (const YAML::Node& item : node) {
          const std::string child = pointer_append(pointer, index);
          Position at = position(item.Mark(), node.Mark());
          out->origins[child] = Origin{at, at, display_path(pointer), display_path(child)};
          array.push_back(convert(item, child));
          ++index;
        }
        return array;
      }
      case YAML::NodeType::Map: {
        nlohmann::json object = nlohmann::json::object();
        for (auto it = node.begin(); it != node.end(); ++it) {
          // A copy: it-> returns a proxy by value, so a reference to its `first` would dangle
          // (ASan stack-use-after-scope, fuzz/corpus/yaml_plan/regression-map-key-dangling).
          const YAML::Node key_node = it->first;
          Position key_at = position(key_node.Mark(), node.Mark());
          if (!key_node.IsScalar()) {
            out->diagnostics.push_back(
                {key_at.file, key_at.line, key_at.column, "mapping keys must be plain names"});
            continue;
          }
          const std::string key = key_node.Scalar();
          const std::string child = pointer_append(pointer, key);
          if (object.contains(key)) {
            out->diagnostics.push_back(
                {key_at.file, key_at.line, key_at.column,
                 "duplicate key '" + key + "' " + in_place(display_path(pointer))});
            continue;
          }
          Position value_at = position(it->second.Mark(), key_node.Mark());
          out->origins[child] =
              Origin{key_at, value_at, display_path(pointer), display_path(child)};
          object[key] = convert(it->second, child);
        }
        return object;
      }
    }
    return nullptr;
  }
};

}  // namespace

YamlJson yaml_to_json(const std::string& text, const std::string& file,
                      const std::string& base_pointer, bool has_lines) {
  YamlJson result;
  Converter converter{file, has_lines, &result};
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string::npos) {
    Position at{file, 0, 0};
    if (has_lines) {
      const std::size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
      at.line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + bad, '\n'));
      at.column =
          static_cast<int>(bad - (line_start == std::string::npos ? 0 : line_start + 1)) + 1;
    }
    static const char* kHex = "0123456789ABCDEF";
    const auto byte = static_cast<unsigned char>(text[bad]);
    result.diagnostics.push_back({at.file, at.line, at.column,
                                  std::string("not UTF-8 text (byte 0x") + kHex[byte >> 4] +
                                      kHex[byte & 15] + "); save the file as UTF-8"});
    return result;
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    Position at = converter.position(e.mark, YAML::Mark::null_mark());
    result.diagnostics.push_back(
        {at.file, at.line, at.column,
         "nested " + std::to_string(e.depth()) + " or more levels deep; refused"});
    return result;
  } catch (const YAML::Exception& e) {
    Position at = converter.position(e.mark, YAML::Mark::null_mark());
    result.diagnostics.push_back({at.file, at.line, at.column, e.msg});
    return result;
  }
  Position at = converter.position(root.Mark(), YAML::Mark::null_mark());
  if (has_lines && at.line == 0) at.line = at.column = 1;
  result.origins[base_pointer] =
      Origin{at, at, display_path(pointer_parent(base_pointer)), display_path(base_pointer)};
  try {
    result.value = converter.convert(root, base_pointer);
  } catch (const YAML::Exception& e) {
    Position p = converter.position(e.mark, YAML::Mark::null_mark());
    result.diagnostics.push_back({p.file, p.line, p.column, e.msg});
    return result;
  } catch (const TooLarge& e) {
    Position p = converter.position(e.mark, root.Mark());
    result.diagnostics.push_back({p.file, p.line, p.column, e.message});
    result.value = nullptr;
    result.origins.clear();
    return result;
  }
  result.parsed = true;
  return result;
}

}  // namespace tlr::config
