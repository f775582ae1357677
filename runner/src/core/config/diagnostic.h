// One problem found in an experiment file, and how it is printed: compiler style, location first,
// lower case, no trailing period, one line per problem.
#pragma once

#include <string>
#include <vector>

namespace tlr::config {

struct Diagnostic {
  std::string file;  // the experiment file, or "--set PATH=VALUE" for a problem in an override
  int line = 0;      // 1-based; 0 when there is no position (a whole file, an override)
  int column = 0;    // 1-based
  std::string message;
};

// "file:line:column: error: message", or "file: error: message" when line is 0. No newline.
std::string format_diagnostic(const Diagnostic& diagnostic);
// Every diagnostic on its own line, each ending with '\n'.
std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics);
// Orders by position (problems without a line last, in their original order) and drops exact
// duplicates, which arise when one value is checked once per model that inherits it. Problems of
// the files in `file_order` (an experiment file, then the files it extends) come file by file in
// that order, before those of any other file.
void sort_diagnostics(std::vector<Diagnostic>* diagnostics,
                      const std::vector<std::string>& file_order = {});

}  // namespace tlr::config
