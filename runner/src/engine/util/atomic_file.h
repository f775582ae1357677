// A file written whole or not at all, for the files other processes or later runs read (feature
// caches, weight files): bytes go to a temporary file next to it (engine/util/temporary_files.h),
// which commit() flushes to disk (fsync) and renames over <path>; anything else (an error, an
// exception, a kill) leaves <path> as it was and no temporary file behind, except after a kill (the
// next run removes it).
//
// write() never fails towards its caller: it remembers the first error (a full disk, an I/O
// error) and drops the bytes after it; commit() reports it. That is what libtorch's stream
// writers need: PyTorchStreamWriter finishes the zip archive from its destructor, so a writer
// callback that throws gets called again while unwinding and the process aborts (SIGABRT on a
// full disk, before this class).
//
// Not thread-safe: one writer per object. Movable, not copyable.
#pragma once

#include <cstddef>
#include <string>

namespace tlr {

class AtomicFile {
 public:
  // Creates the temporary file next to `path` (its folder must exist). `what` names the file in
  // errors: "<path>: error: cannot write <what>: <reason>". Throws tlr::Error.
  AtomicFile(std::string path, std::string what);
  ~AtomicFile();  // removes the temporary file unless committed
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  AtomicFile& operator=(AtomicFile&&) = delete;

  // Appends `n` bytes; returns n always (the first failure is kept for commit()).
  std::size_t write(const void* data, std::size_t n) noexcept;
  // fsync, close and rename over the path; throws tlr::Error with the first write error, or the
  // error of these steps, after removing the temporary file.
  void commit();

  const std::string& temporary_path() const { return temporary_; }

 private:
  void fail(const std::string& reason);

  std::string path_;
  std::string what_;
  std::string temporary_;
  int fd_ = -1;
  int error_ = 0;  // errno of the first failed write; 0 while none failed
  bool committed_ = false;
};

// `text` as the whole content of `path`, through an AtomicFile; throws its tlr::Error.
void write_file_atomically(const std::string& path, const std::string& text,
                           const std::string& what);

}  // namespace tlr
