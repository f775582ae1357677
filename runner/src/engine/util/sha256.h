// SHA-256 (FIPS 180-4) of memory and files, as lower-case hex. Used for artifact checksums, weight
// file identities and cache keys, so the digests must match `sha256sum` bit for bit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace tlr {

// Incremental hasher for data that arrives in pieces (a file read in chunks, a cache key built
// from several fields). After hex_digest() the hasher is spent: call reset() to reuse it.
class Sha256 {
 public:
  Sha256();
  void reset();
  void update(const void* data, std::size_t size);
  void update(const std::string& text) { update(text.data(), text.size()); }
  // The 64 lower-case hex characters of the digest of everything passed to update().
  std::string hex_digest();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> state_;
  std::array<std::uint8_t, 64> buffer_;
  std::size_t buffered_ = 0;
  std::uint64_t total_bytes_ = 0;
};

// The digest of `size` bytes at `data`.
std::string sha256_hex(const void* data, std::size_t size);

// The digest of a file's contents. Throws tlr::Error("<path>: error: cannot read file") when the
// file cannot be opened or read.
std::string sha256_file(const std::string& path);

}  // namespace tlr
