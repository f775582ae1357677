// Helpers shared by the fuzz targets (fuzz/README.md): a scratch folder per process, files
// written from the input, and the seed-writing mode.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <utility>

namespace tlr::fuzz {

// A folder of this process, removed at a normal exit (libFuzzer's ends after a crash or a time
// limit skip that: scripts/fuzz.sh sets TLR_FUZZ_SCRATCH to a folder it removes itself). Under
// $TLR_FUZZ_SCRATCH, else /dev/shm when there is one (no disk writes), else $TMPDIR or /tmp.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* scratch = std::getenv("TLR_FUZZ_SCRATCH");
    std::string base = scratch && *scratch ? scratch : "/dev/shm";
    if (::access(base.c_str(), W_OK) != 0) {
      const char* tmp = std::getenv("TMPDIR");
      base = tmp && *tmp ? tmp : "/tmp";
    }
    std::string pattern = base + "/tlr-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

inline void write_file(const std::filesystem::path& path, const std::uint8_t* data,
                       std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  write_file(path, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

// Two files from one input: the first two bytes (big-endian) give the length of the first
// (clamped to what is there), the rest is the second.
inline std::pair<std::string, std::string> split_input(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return {std::string(), std::string(reinterpret_cast<const char*>(data), size)};
  std::size_t first = (std::size_t{data[0]} << 8) | data[1];
  first = std::min(first, size - 2);
  const char* p = reinterpret_cast<const char*>(data) + 2;
  return {std::string(p, first), std::string(p + first, size - 2 - first)};
}

inline std::string join_input(const std::string& first, const std::string& second) {
  std::string out;
  out += static_cast<char>((first.size() >> 8) & 0xff);
  out += static_cast<char>(first.size() & 0xff);
  return out + first + second;
}

// TLR_FUZZ_WRITE_SEEDS=<folder>: the target writes its seed files there with the project's own
// writers (checked in under fuzz/corpus/<target>/) and exits instead of fuzzing.
inline const char* seed_dir() {
  const char* dir = std::getenv("TLR_FUZZ_WRITE_SEEDS");
  return dir && *dir ? dir : nullptr;
}

// TLR_FUZZ_VERBOSE=1: each target prints the outcome of an input (to check that seeds reach
// as far as they should).
inline bool verbose() {
  static const bool on = std::getenv("TLR_FUZZ_VERBOSE") != nullptr;
  return on;
}

inline void note(const std::string& text) {
  if (verbose()) std::fprintf(stderr, "fuzz: %s\n", text.c_str());
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace tlr::fuzz
