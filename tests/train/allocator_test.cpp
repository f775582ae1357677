// The caching CPU allocator (engine/util/cpu_allocator.h): large tensors reuse freed blocks
// instead of faulting in fresh pages, small ones are untouched, the cache respects its limit and
// gives memory back on request, and concurrent use from several threads stays correct.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/torch.h>

#include <thread>
#include <vector>

#include "engine/util/cpu_allocator.h"

namespace {

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

constexpr std::int64_t kMiB = 1 << 20;

class CachingCpuAllocator : public ::testing::Test {
 protected:
  void SetUp() override {
    tlr::use_caching_cpu_allocator(std::size_t{1} << 30);
    tlr::release_cached_cpu_memory();
  }
  void TearDown() override { tlr::use_caching_cpu_allocator(); }
};

TEST_F(CachingCpuAllocator, LargeBuffersAreReusedWithoutPageFaults) {
  constexpr std::int64_t kFloats = 64 * kMiB;  // 256 MiB: glibc would mmap it afresh every time
  constexpr long kPages = kFloats * 4 / 4096;
  EXPECT_EQ(torch::ones({kFloats}).sum().item<float>(), static_cast<float>(kFloats));
  const auto before = tlr::cpu_cache_stats();
  const long faults = minor_faults();
  for (int step = 0; step < 3; ++step) {
    EXPECT_EQ(torch::ones({kFloats}).sum().item<float>(), static_cast<float>(kFloats));
  }
  // Without the cache each step faults in all 65536 pages again (196608 in all).
  EXPECT_LT(minor_faults() - faults, kPages / 10);
  const auto after = tlr::cpu_cache_stats();
  EXPECT_EQ(after.maps, before.maps);
  EXPECT_EQ(after.reuses, before.reuses + 3);
}

TEST_F(CachingCpuAllocator, ReusedBlocksHoldNewValues) {
  { auto a = torch::full({4 * kMiB}, 7.0f); }
  auto b = torch::arange(4 * kMiB, torch::kFloat);  // reuses a's block
  EXPECT_EQ(b[0].item<float>(), 0.0f);
  EXPECT_EQ(b[4 * kMiB - 1].item<float>(), static_cast<float>(4 * kMiB - 1));
  EXPECT_TRUE(torch::zeros({4 * kMiB}).eq(0).all().item<bool>());
}

TEST_F(CachingCpuAllocator, BestFitNeverMoreThanTwiceTheRequest) {
  { auto big = torch::empty({64 * kMiB}); }  // 256 MiB cached
  const auto before = tlr::cpu_cache_stats();
  { auto small = torch::empty({4 * kMiB}); }  // 16 MiB: the 256 MiB block is too big for it
  auto after = tlr::cpu_cache_stats();
  EXPECT_EQ(after.maps, before.maps + 1);
  EXPECT_EQ(after.reuses, before.reuses);
  { auto near = torch::empty({40 * kMiB}); }  // 160 MiB: the 256 MiB block fits
  after = tlr::cpu_cache_stats();
  EXPECT_EQ(after.reuses, before.reuses + 1);
}

TEST_F(CachingCpuAllocator, SmallTensorsBypassTheCache) {
  const auto before = tlr::cpu_cache_stats();
  for (int i = 0; i < 100; ++i) torch::ones({1000}).sum();
  const auto after = tlr::cpu_cache_stats();
  EXPECT_EQ(after.maps, before.maps);
  EXPECT_EQ(after.mapped_bytes, before.mapped_bytes);
}

TEST_F(CachingCpuAllocator, LimitAndReleaseGiveMemoryBack) {
  { auto a = torch::empty({16 * kMiB}); }
  EXPECT_EQ(tlr::cpu_cache_stats().cached_bytes, std::size_t{64} << 20);
  tlr::release_cached_cpu_memory();
  EXPECT_EQ(tlr::cpu_cache_stats().cached_bytes, 0u);
  EXPECT_EQ(tlr::cpu_cache_stats().mapped_bytes, 0u);

  tlr::use_caching_cpu_allocator(0);  // keep nothing
  { auto a = torch::empty({16 * kMiB}); }
  EXPECT_EQ(tlr::cpu_cache_stats().mapped_bytes, 0u);
}

TEST_F(CachingCpuAllocator, ConcurrentThreadsGetCorrectResults) {
  std::vector<std::thread> threads;
  threads.reserve(4);
  // One int per thread: std::vector<bool> would pack the four flags into one shared word.
  std::vector<int> ok(4, 1);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &ok] {
      for (int i = 0; i < 20; ++i) {
        const std::int64_t n = (1 + (t + i) % 3) * kMiB;  // 4, 8 or 12 MiB
        const float value = static_cast<float>(t * 100 + i);
        auto x = torch::full({n}, value);
        if (!x.eq(value).all().item<bool>()) ok[t] = 0;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_TRUE(ok[t]) << "thread " << t;
  EXPECT_EQ(tlr::cpu_cache_stats().mapped_bytes, tlr::cpu_cache_stats().cached_bytes);
}

}  // namespace
