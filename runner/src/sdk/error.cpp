#include "tlr/error.h"

namespace tlr {

Error::Error(const std::string& message) : std::runtime_error(message) {}
Error::~Error() = default;

DataError::DataError(std::string path, const std::string& problem)
    : Error(path + ": error: " + problem), path_(std::move(path)) {}
DataError::~DataError() = default;

}  // namespace tlr
