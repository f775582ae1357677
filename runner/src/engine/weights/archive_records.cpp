#include "engine/weights/archive_records.h"

#include <caffe2/serialize/inline_container.h>
#include <caffe2/serialize/read_adapter_interface.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "engine/weights/pickle.h"  // weights::FormatError
#include "engine/weights/zip_checksums.h"

namespace tlr {

namespace {

class Bytes final : public caffe2::serialize::ReadAdapterInterface {
 public:
  Bytes(const char* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t size() const override { return size_; }
  std::size_t read(std::uint64_t pos, void* buf, std::size_t n, const char*) const override {
    if (pos >= size_) return 0;
    const std::size_t got = std::min<std::size_t>(n, size_ - static_cast<std::size_t>(pos));
    std::memcpy(buf, data_ + pos, got);
    return got;
  }

 private:
  const char* data_;
  std::size_t size_;
};

}  // namespace

void check_archive_records(const char* data, std::size_t size) {
  const auto crcs = weights::zip_recorded_crcs(data, size);
  caffe2::serialize::PyTorchStreamReader reader(std::make_shared<Bytes>(data, size));
  // Records are named "<archive>/<record>" in the directory, "<record>" by the reader.
  std::string archive;
  if (!crcs.empty()) archive = crcs.begin()->first.substr(0, crcs.begin()->first.find('/'));
  for (const std::string& record : reader.getAllRecords()) {
    const auto found = crcs.find(archive + "/" + record);
    if (found == crcs.end()) {
      throw weights::FormatError("record '" + record + "' is not in the zip central directory");
    }
    auto [bytes, n] = reader.getRecord(record);
    if (weights::crc32_of(bytes.get(), n) != found->second) {
      throw weights::FormatError("record '" + record + "' does not match its CRC-32");
    }
  }
}

void check_archive_file(const std::string& path, std::size_t offset) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || static_cast<std::size_t>(info.st_size) <= offset) {
    ::close(fd);
    throw weights::FormatError("no zip archive");
  }
  const auto size = static_cast<std::size_t>(info.st_size);
  void* at = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (at == MAP_FAILED) throw std::runtime_error(path + ": " + std::strerror(errno));
  try {
    check_archive_records(static_cast<const char*>(at) + offset, size - offset);
  } catch (...) {
    ::munmap(at, size);
    throw;
  }
  ::munmap(at, size);
}

}  // namespace tlr
