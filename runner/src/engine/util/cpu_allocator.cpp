#include "engine/util/cpu_allocator.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>

namespace tlr {
namespace {

constexpr std::size_t kLarge = std::size_t{2} << 20;  // 2 MiB: one huge page
constexpr std::size_t kAlign = kLarge;

std::size_t round_up(std::size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// A 2 MiB-aligned anonymous mapping of `size` bytes (a multiple of 2 MiB), huge pages requested.
void* map_block(std::size_t size) {
  const std::size_t span = size + kAlign;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  // Trim the head up to the first 2 MiB boundary and the tail after `size` bytes.
  char* const start = static_cast<char*>(raw);
  const std::size_t misalign = reinterpret_cast<std::uintptr_t>(start) % kAlign;
  const std::size_t head = misalign == 0 ? 0 : kAlign - misalign;
  char* const block = start + head;
  if (head > 0) munmap(start, head);
  if (span > head + size) munmap(block + size, span - head - size);
#ifdef MADV_HUGEPAGE
  madvise(block, size, MADV_HUGEPAGE);  // a hint: fewer faults and TLB misses when granted
#endif
  return block;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  CachingCpuAllocator(c10::Allocator* small, std::size_t limit) : small_(small), limit_(limit) {}

  void set_limit(std::size_t limit) {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = limit;
  }

  c10::DataPtr allocate(std::size_t n) const override {
    if (n < kLarge) return small_->allocate(n);
    void* data = take(round_up(n));
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release_any; }

  void trim() const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [size, block] : free_) unmap(block, size);
    free_.clear();
    stats_.cached_bytes = 0;
  }

  CpuCacheStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  static CachingCpuAllocator* instance;

 private:
  void* take(std::size_t size) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      // Best fit, but never more than twice the request (a rounding of small shape changes).
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= 2 * size) {
        void* block = it->second;
        live_[block] = it->first;
        stats_.cached_bytes -= it->first;
        ++stats_.reuses;
        free_.erase(it);
        return block;
      }
    }
    void* block = map_block(size);
    if (block == nullptr) {
      trim();  // the cache may be what exhausted memory: give it back and try once more
      block = map_block(size);
      if (block == nullptr) throw std::bad_alloc();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    live_[block] = size;
    stats_.mapped_bytes += size;
    stats_.peak_mapped_bytes = std::max(stats_.peak_mapped_bytes, stats_.mapped_bytes);
    ++stats_.maps;
    return block;
  }

  // Back to the cache, or to the OS when the cache is full.
  bool give_back(void* block) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = live_.find(block);
    if (it == live_.end()) return false;
    const std::size_t size = it->second;
    live_.erase(it);
    if (stats_.cached_bytes + size <= limit_) {
      free_.emplace(size, block);
      stats_.cached_bytes += size;
    } else {
      unmap(block, size);
    }
    return true;
  }

  // Under mutex_.
  void unmap(void* block, std::size_t size) const {
    munmap(block, size);
    stats_.mapped_bytes -= size;
  }

  static void release(void* block) { instance->give_back(block); }
  static void release_any(void* data) {
    if (!instance->give_back(data)) instance->small_->raw_deleter()(data);
  }

  c10::Allocator* small_;  // libtorch's default, for blocks under 2 MiB
  mutable std::mutex mutex_;
  std::size_t limit_;
  mutable std::multimap<std::size_t, void*> free_;       // size → block
  mutable std::unordered_map<void*, std::size_t> live_;  // block → size
  mutable CpuCacheStats stats_;
};

CachingCpuAllocator* CachingCpuAllocator::instance = nullptr;

std::size_t default_cache_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::size_t{1} << 30;
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) / 4;
}

}  // namespace

void use_caching_cpu_allocator(std::size_t cache_limit_bytes) {
  if (cache_limit_bytes == kDefaultCacheLimit) cache_limit_bytes = default_cache_limit();
  static std::once_flag once;
  std::call_once(once, [&] {
    // Never destroyed: tensors may be freed during static destruction.
    CachingCpuAllocator::instance =
        new CachingCpuAllocator(c10::GetDefaultCPUAllocator(), cache_limit_bytes);
    c10::SetCPUAllocator(CachingCpuAllocator::instance, /*priority=*/1);
  });
  CachingCpuAllocator::instance->set_limit(cache_limit_bytes);
}

void release_cached_cpu_memory() {
  if (CachingCpuAllocator::instance != nullptr) CachingCpuAllocator::instance->trim();
}

CpuCacheStats cpu_cache_stats() {
  return CachingCpuAllocator::instance != nullptr ? CachingCpuAllocator::instance->stats()
                                                  : CpuCacheStats{};
}

}  // namespace tlr
