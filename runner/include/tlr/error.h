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

// A parameter of the component that throws it is wrong (an unknown block name, a value the
// schema cannot express a limit for). The runner reports it at the line:column where the value
// was written: "file.yaml:12:15: error: model 'ft': fine_tune.from: unknown block 'res3'".
// `param` is the key in the component's params object; `message` reads as Error's does.
class TLR_API ParamError : public Error {
 public:
  ParamError(std::string param, const std::string& message);
  ~ParamError() override;
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

}  // namespace tlr
