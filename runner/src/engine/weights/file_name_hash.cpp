#include "engine/weights/file_name_hash.h"

#include <algorithm>
#include <filesystem>

#include "tlr/error.h"

namespace tlr {

std::string claimed_sha256_prefix(const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  const auto dash = stem.rfind('-');
  if (dash == std::string::npos) return "";
  const std::string part = stem.substr(dash + 1);
  if (part.size() < 8 || part.size() > 64) return "";
  const bool hex = std::all_of(part.begin(), part.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  const bool letter =
      std::any_of(part.begin(), part.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  return hex && letter ? part : "";
}

void check_claimed_sha256(const std::string& path, const std::string& sha256) {
  const std::string prefix = claimed_sha256_prefix(path);
  if (prefix.empty() || sha256.compare(0, prefix.size(), prefix) == 0) return;
  throw Error(path + ": error: its sha256 is " + sha256 + ", but its name says it starts with " +
              prefix +
              ": the file is damaged or not the one published under that name; get it "
              "again");
}

}  // namespace tlr
