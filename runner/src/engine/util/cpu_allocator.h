// A caching CPU allocator for libtorch's tensors.
//
// Training allocates and frees the same large activation and gradient buffers every step. glibc
// serves blocks above its mmap threshold with fresh mmap()s and unmaps them on free, so every
// step faults in and zeroes those pages again: a quarter of a VGG16 training step at 150×150 went
// to the kernel (13.7 M page faults in one benchmark run). Tuning malloc instead (no mmap, no
// trim) is not enough: posix_memalign's split remainders fragment the heap and the faults return.
//
// use_caching_cpu_allocator() installs, as libtorch's CPU allocator, one that serves blocks of
// 2 MiB and more from a cache of freed blocks (best fit, at most twice the request), maps new
// ones 2 MiB-aligned with transparent huge pages requested, and keeps freed blocks for reuse up to
// a limit (a quarter of the physical memory by default). Smaller blocks go to the C library as
// before. Tensors allocated before the call keep their own deleters, so installing it late is safe.
#pragma once

#include <cstddef>

namespace tlr {

struct CpuCacheStats {
  std::size_t mapped_bytes = 0;  // large blocks currently mapped (in use + cached)
  std::size_t cached_bytes = 0;  // of those, free and waiting for reuse
  std::size_t peak_mapped_bytes = 0;
  std::size_t maps = 0;    // large blocks mapped from the OS so far
  std::size_t reuses = 0;  // large allocations served from the cache
};

inline constexpr std::size_t kDefaultCacheLimit = ~std::size_t{0};  // a quarter of the RAM

// Installs the allocator; a later call only changes the limit. `cache_limit_bytes`: freed large
// blocks are kept while the cached total stays under it; beyond, they go back to the OS.
void use_caching_cpu_allocator(std::size_t cache_limit_bytes = kDefaultCacheLimit);

// Returns every cached (free) block to the OS; blocks in use are untouched.
void release_cached_cpu_memory();

CpuCacheStats cpu_cache_stats();

}  // namespace tlr
