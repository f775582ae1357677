// A tmpfs mounted at a folder while the object lives, for the fault tests: a small one fills up
// (disk_full_test), a mounted one can be remounted read-only (fault_test). Mounting needs root;
// mounted() says whether it worked and problem() why not, so that a test can skip with a message.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace tlr::testing::e2e {

class TmpfsMount {
 public:
  TmpfsMount(const std::filesystem::path& dir, const std::string& size) : dir_(dir) {
    std::filesystem::create_directories(dir);
    const std::string options = "size=" + size;
    mounted_ = ::mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted_) problem_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& problem() const { return problem_; }
  // Remounts it read-only; false (errno set) when that fails.
  bool make_read_only() {
    return ::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }

 private:
  std::filesystem::path dir_;
  bool mounted_ = false;
  std::string problem_;
};

}  // namespace tlr::testing::e2e
