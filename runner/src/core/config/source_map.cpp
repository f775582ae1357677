#include "core/config/source_map.h"

namespace tlr::config {
namespace {

bool is_index(const std::string& token) {
  return !token.empty() && token.find_first_not_of("0123456789") == std::string::npos;
}

std::string escape(const std::string& token) {
  std::string out;
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string unescape(const std::string& token) {
  std::string out;
  for (std::size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out += token[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

bool in_subtree(const std::string& pointer, const std::string& root) {
  return pointer.compare(0, root.size(), root) == 0 &&
         (pointer.size() == root.size() || pointer[root.size()] == '/');
}

}  // namespace

Origin find_origin(const SourceMap& map, const std::string& pointer) {
  std::string current = pointer;
  while (true) {
    auto it = map.find(current);
    if (it != map.end()) return it->second;
    if (current.empty()) return Origin{};
    current = pointer_parent(current);
  }
}

void erase_subtree(SourceMap* map, const std::string& pointer) {
  for (auto it = map->lower_bound(pointer); it != map->end();) {
    if (!in_subtree(it->first, pointer)) {
      if (it->first.compare(0, pointer.size(), pointer) != 0) break;
      ++it;
      continue;
    }
    it = map->erase(it);
  }
}

void copy_subtree(const SourceMap& source, const std::string& from, SourceMap* target,
                  const std::string& to) {
  for (auto it = source.lower_bound(from); it != source.end(); ++it) {
    if (!in_subtree(it->first, from)) {
      if (it->first.compare(0, from.size(), from) != 0) break;
      continue;
    }
    (*target)[to + it->first.substr(from.size())] = it->second;
  }
}

std::string pointer_append(const std::string& pointer, const std::string& token) {
  return pointer + "/" + escape(token);
}

std::string pointer_append(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

std::vector<std::string> pointer_tokens(const std::string& pointer) {
  std::vector<std::string> tokens;
  std::size_t start = 1;
  while (start <= pointer.size() && !pointer.empty()) {
    std::size_t end = pointer.find('/', start);
    if (end == std::string::npos) end = pointer.size();
    tokens.push_back(unescape(pointer.substr(start, end - start)));
    start = end + 1;
  }
  return tokens;
}

std::string pointer_parent(const std::string& pointer) {
  const std::size_t slash = pointer.rfind('/');
  return slash == std::string::npos ? "" : pointer.substr(0, slash);
}

std::string pointer_last(const std::string& pointer) {
  const std::size_t slash = pointer.rfind('/');
  return slash == std::string::npos ? pointer : unescape(pointer.substr(slash + 1));
}

std::string display_path(const std::string& pointer) {
  std::string out;
  for (const std::string& token : pointer_tokens(pointer)) {
    if (is_index(token) && !out.empty()) {
      out += "[" + token + "]";
    } else {
      out += (out.empty() ? "" : ".") + token;
    }
  }
  return out.empty() ? "top level" : out;
}

std::string in_place(const std::string& display) {
  return display == "top level" ? "at top level" : "in " + display;
}

}  // namespace tlr::config
