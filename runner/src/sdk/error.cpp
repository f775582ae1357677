#include "tlr/error.h"

#include <utility>

namespace tlr {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

DataError::DataError(std::string path, const std::string& problem)
    : Error(path + ": error: " + problem), path_(std::move(path)) {}
DataError::~DataError() = default;

ParamError::ParamError(std::string param, const std::string& message)
    : Error(message), param_(std::move(param)) {}
ParamError::~ParamError() = default;

}  // namespace tlr
