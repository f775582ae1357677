// Where each value of an experiment document came from, so that a problem found in a JSON value
// (before or after models are merged) is reported at the line and column the user wrote.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace tlr::config {

struct Position {
  std::string file;  // the experiment file or "--set PATH=VALUE"
  int line = 0;      // 1-based; 0: no position
  int column = 0;
};

struct Origin {
  Position key;    // the key of a mapping member (the value itself for list items and roots)
  Position value;  // the value
  // How messages name the mapping holding this value ("models[2].training", "top level"), and
  // how they name the value itself ("models[2].training.epochs").
  std::string container;
  std::string path;
};

// JSON pointer ("/models/2/training") -> origin.
using SourceMap = std::map<std::string, Origin>;

// The origin of `pointer`, or of its nearest ancestor that has one (values created by defaults,
// or intermediate mappings created by an override); an empty Origin when nothing matches.
Origin find_origin(const SourceMap& map, const std::string& pointer);

// Removes the entries of `pointer` and everything under it.
void erase_subtree(SourceMap* map, const std::string& pointer);

// Copies the entries under `from` to the same relative places under `to` (replacing what was
// there), keeping each entry's positions and names.
void copy_subtree(const SourceMap& source, const std::string& from, SourceMap* target,
                  const std::string& to);

// JSON pointer helpers. Tokens are unescaped ("a/b" is stored as "a~1b").
std::string pointer_append(const std::string& pointer, const std::string& token);
std::string pointer_append(const std::string& pointer, std::size_t index);
std::vector<std::string> pointer_tokens(const std::string& pointer);
std::string pointer_parent(const std::string& pointer);
std::string pointer_last(const std::string& pointer);

// How a message names a value of the document: "/models/2/backbone" -> "models[2].backbone",
// "" -> "top level". List indexes in brackets, keys joined by dots.
std::string display_path(const std::string& pointer);
// "at top level" for the root, "in <display>" otherwise: the tail of "unknown key 'x' ...".
std::string in_place(const std::string& display);

}  // namespace tlr::config
