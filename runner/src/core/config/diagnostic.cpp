#include "core/config/diagnostic.h"

#include <algorithm>
#include <tuple>

namespace tlr::config {

std::string format_diagnostic(const Diagnostic& diagnostic) {
  std::string text = diagnostic.file;
  if (diagnostic.line > 0) {
    text += ":" + std::to_string(diagnostic.line) + ":" + std::to_string(diagnostic.column);
  }
  return text + ": error: " + diagnostic.message;
}

std::string format_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  std::string text;
  for (const Diagnostic& diagnostic : diagnostics) text += format_diagnostic(diagnostic) + "\n";
  return text;
}

void sort_diagnostics(std::vector<Diagnostic>* diagnostics,
                      const std::vector<std::string>& file_order) {
  auto key = [&](const Diagnostic& d) {
    const auto rank = static_cast<std::size_t>(
        std::find(file_order.begin(), file_order.end(), d.file) - file_order.begin());
    return std::make_tuple(d.line == 0, rank, d.line, d.column);
  };
  std::stable_sort(diagnostics->begin(), diagnostics->end(),
                   [&](const Diagnostic& a, const Diagnostic& b) { return key(a) < key(b); });
  std::vector<Diagnostic> unique;
  for (Diagnostic& d : *diagnostics) {
    bool seen = std::any_of(unique.begin(), unique.end(), [&](const Diagnostic& u) {
      return u.file == d.file && u.line == d.line && u.column == d.column && u.message == d.message;
    });
    if (!seen) unique.push_back(std::move(d));
  }
  *diagnostics = std::move(unique);
}

}  // namespace tlr::config
