#include "engine/weights/zip_checksums.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "engine/weights/pickle.h"

namespace tlr::weights {

namespace {

// Little-endian fields at `at`, checked against the end of the data.
class Bytes {
 public:
  Bytes(const char* data, std::size_t size) : data_(data), size_(size) {}
  // Throws unless [at, at + n) lies inside the data.
  void require(std::size_t at, std::size_t n) const {
    if (at > size_ || n > size_ - at) {
      throw FormatError("zip central directory runs past the end of the file (truncated?)");
    }
  }
  std::uint64_t read(std::size_t at, int width) const {
    require(at, static_cast<std::size_t>(width));
    std::uint64_t value = 0;
    for (int i = width - 1; i >= 0; --i) {
      value = (value << 8) | static_cast<unsigned char>(data_[at + static_cast<std::size_t>(i)]);
    }
    return value;
  }
  std::uint32_t u32(std::size_t at) const { return static_cast<std::uint32_t>(read(at, 4)); }
  std::uint16_t u16(std::size_t at) const { return static_cast<std::uint16_t>(read(at, 2)); }
  std::uint64_t u64(std::size_t at) const { return read(at, 8); }
  std::size_t size() const { return size_; }

 private:
  const char* data_;
  std::size_t size_;
};

constexpr std::uint32_t kEndOfDirectory = 0x06054b50;
constexpr std::uint32_t kZip64Locator = 0x07064b50;
constexpr std::uint32_t kZip64EndOfDirectory = 0x06064b50;
constexpr std::uint32_t kDirectoryEntry = 0x02014b50;
constexpr std::size_t kEndOfDirectorySize = 22;
constexpr std::size_t kMaxComment = 0xffff;

// The end-of-central-directory record is the last 22 bytes plus a comment of up to 64 KiB.
std::size_t find_end_of_directory(const Bytes& bytes) {
  if (bytes.size() < kEndOfDirectorySize) throw FormatError("too short for a zip archive");
  const std::size_t last = bytes.size() - kEndOfDirectorySize;
  const std::size_t first = last > kMaxComment ? last - kMaxComment : 0;
  for (std::size_t at = last + 1; at-- > first;) {
    if (bytes.u32(at) == kEndOfDirectory) return at;
  }
  throw FormatError("no zip end-of-central-directory record (truncated?)");
}

}  // namespace

std::map<std::string, std::uint32_t> zip_recorded_crcs(const char* data, std::size_t size) {
  const Bytes bytes(data, size);
  const std::size_t end = find_end_of_directory(bytes);
  std::uint64_t entries = bytes.u16(end + 10);
  std::uint64_t offset = bytes.u32(end + 16);
  if ((entries == 0xffff || offset == 0xffffffff) && end >= 20 &&
      bytes.u32(end - 20) == kZip64Locator) {
    const std::uint64_t at = bytes.u64(end - 20 + 8);
    if (at > size || bytes.u32(static_cast<std::size_t>(at)) != kZip64EndOfDirectory) {
      throw FormatError("damaged zip64 end-of-central-directory record");
    }
    entries = bytes.u64(static_cast<std::size_t>(at) + 32);
    offset = bytes.u64(static_cast<std::size_t>(at) + 48);
  }
  std::map<std::string, std::uint32_t> crcs;
  std::size_t at = offset <= size ? static_cast<std::size_t>(offset) : size;
  for (std::uint64_t i = 0; i < entries; ++i) {
    if (bytes.u32(at) != kDirectoryEntry) {
      throw FormatError("damaged zip central directory (entry " + std::to_string(i) + ")");
    }
    const std::uint32_t crc = bytes.u32(at + 16);
    const std::size_t name_length = bytes.u16(at + 28);
    const std::size_t extra_length = bytes.u16(at + 30);
    const std::size_t comment_length = bytes.u16(at + 32);
    bytes.require(at + 46, name_length);
    crcs[std::string(data + at + 46, name_length)] = crc;
    at += 46 + name_length + extra_length + comment_length;
  }
  return crcs;
}

std::uint32_t crc32_of(const void* data, std::size_t size) {
  // zlib's crc32 takes a uInt length: feed it in pieces.
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* at = static_cast<const Bytef*>(data);
  while (size > 0) {
    const std::size_t piece = std::min<std::size_t>(size, std::numeric_limits<uInt>::max());
    crc = crc32(crc, at, static_cast<uInt>(piece));
    at += piece;
    size -= piece;
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace tlr::weights
