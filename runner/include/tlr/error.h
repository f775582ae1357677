// Errors the SDK and plugins throw. The runner prints what() as one line and records it with the
// run.
#pragma once

#include <stdexcept>
#include <string>

#include "tlr/abi.h"

namespace tlr {

// A problem the user can fix (bad parameter, missing file, wrong weights). Message style:
// location first, lower case, no trailing period, e.g. "data/cats: error: no such directory".
class TLR_API Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message);
  ~Error() override;
};

// Bad input data (an unreadable image, an empty class). Carries the offending path.
class TLR_API DataError : public Error {
 public:
  DataError(std::string path, const std::string& problem);
  ~DataError() override;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace tlr
