#include "engine/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "engine/util/fault_point.h"
#include "engine/util/temporary_files.h"
#include "tlr/error.h"

namespace tlr {

AtomicFile::AtomicFile(std::string path, std::string what)
    : path_(std::move(path)), what_(std::move(what)), temporary_(temporary_name(path_)) {
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(path_ + ": error: cannot write " + what_ + ": " + temporary_ + ": " +
                std::strerror(errno));
  }
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)),
      what_(std::move(other.what_)),
      temporary_(std::move(other.temporary_)),
      fd_(std::exchange(other.fd_, -1)),
      error_(other.error_),
      committed_(std::exchange(other.committed_, true)) {}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) std::remove(temporary_.c_str());
}

std::size_t AtomicFile::write(const void* data, std::size_t n) noexcept {
  const char* bytes = static_cast<const char*>(data);
  std::size_t left = error_ == 0 && fd_ >= 0 ? n : 0;
  while (left > 0) {
    const ssize_t written = ::write(fd_, bytes, left);
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) {
      error_ = written < 0 ? errno : ENOSPC;
      break;
    }
    bytes += written;
    left -= static_cast<std::size_t>(written);
  }
  return n;
}

void AtomicFile::fail(const std::string& reason) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::remove(temporary_.c_str());
  committed_ = true;  // nothing left to remove
  throw Error(path_ + ": error: cannot write " + what_ + ": " + reason);
}

void AtomicFile::commit() {
  if (committed_) throw Error(path_ + ": error: " + what_ + " committed twice");
  if (error_ != 0) fail(std::strerror(error_));
  if (::fsync(fd_) != 0) fail(std::strerror(errno));
  const int fd = std::exchange(fd_, -1);
  if (::close(fd) != 0) fail(std::strerror(errno));
  fault_point("file_written");  // the crash tests: a kill between the data and the rename
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) fail(std::strerror(errno));
  committed_ = true;
}

void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what) {
  AtomicFile file(path, what);
  file.write(text.data(), text.size());
  file.commit();
}

}  // namespace tlr
