#include "core/run/model_failure.h"

namespace tlr {

std::string first_line(const std::string& text) {
  const auto newline = text.find('\n');
  return newline == std::string::npos ? text : text.substr(0, newline);
}

}  // namespace tlr
