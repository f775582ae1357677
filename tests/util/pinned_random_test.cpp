// The engine's randomness (engine/util/pinned_random.h): exact values, so that a change to any
// draw, and with it to recorded splits, epoch orders and augmentations, fails here first.
#include "engine/util/pinned_random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "tlr/error.h"

namespace tlr {
namespace {

// The reference SplitMix64 from seed 0 starts e220a8397b1dcdaf, 6e789e6aa1b965f4,
// 06c45d188009454f: its state after k steps is k · gamma.
TEST(PinnedRandom, SplitMix64IsTheReferenceGenerator) {
  EXPECT_EQ(splitmix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(splitmix64(kGoldenGamma), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(splitmix64(2 * kGoldenGamma), 0x06c45d188009454fULL);
  EXPECT_EQ(splitmix64(42), 13679457532755275413ULL);
}

TEST(PinnedRandom, Mix64IsTheFinaliserWithoutTheIncrement) {
  EXPECT_EQ(mix64(0), 0u);
  EXPECT_EQ(mix64(1), 0x5692161d100b05e5ULL);
  for (std::uint64_t x : {0ULL, 1ULL, 42ULL, 0xffffffffffffffffULL}) {
    EXPECT_EQ(mix64(x + kGoldenGamma), splitmix64(x)) << x;
  }
}

TEST(PinnedRandom, Fnv1a64OfKnownStrings) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
}

TEST(PinnedRandom, SeedDerivationIsPinned) {
  EXPECT_EQ(combine_seed(0, 0), 5197578548964807871ULL);
  EXPECT_EQ(combine_seed(42, 7), 15379744662986335453ULL);
  EXPECT_EQ(sample_seed(42, 0, 0), 316743895330510691ULL);
  EXPECT_EQ(sample_seed(42, 3, 17), 17328135860923682041ULL);
  EXPECT_EQ(sample_seed(7, -1, 5), 8186637997192583155ULL);
  EXPECT_EQ(sample_seed(42, 3, 17), combine_seed(derive_seed(42, Stream::augment, 3), 17));
  EXPECT_NE(derive_seed(42, Stream::augment, 0), derive_seed(42, Stream::shuffle, 0));
  EXPECT_NE(derive_seed(42, Stream::shuffle, 0), derive_seed(42, Stream::shuffle, 1));
  EXPECT_NE(derive_seed(42, Stream::shuffle, 0), derive_seed(43, Stream::shuffle, 0));
}

// std::mt19937_64 is specified exactly: its 10000th output from the default seed is fixed by the
// C++ standard. Every draw here is computed from its outputs by this code.
TEST(PinnedRandom, GeneratorIsTheStandardOne) {
  std::mt19937_64 rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ULL);
}

TEST(PinnedRandom, DrawsArePinned) {
  std::mt19937_64 rng(9);
  std::vector<std::uint64_t> exact;
  for (int i = 0; i < 6; ++i) exact.push_back(uniform_below(rng, 1000));
  EXPECT_EQ(exact, (std::vector<std::uint64_t>{143, 126, 587, 899, 233, 100}));

  std::mt19937_64 a(5), b(5);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t top = b() >> 11;
    EXPECT_EQ(uniform01(a), static_cast<double>(top) / 9007199254740992.0);
  }
  std::mt19937_64 c(5), d(5);
  for (std::uint64_t bound : {1ULL, 2ULL, 7ULL, 1000ULL}) {
    EXPECT_EQ(scaled_below(c, bound), static_cast<std::uint64_t>(uniform01(d) * bound));
  }
}

TEST(PinnedRandom, UniformBelowStaysInRangeWithoutBias) {
  std::mt19937_64 rng(7);
  EXPECT_EQ(uniform_below(rng, 1), 0u);
  std::vector<int> hits(6, 0);
  for (int i = 0; i < 60000; ++i) ++hits[uniform_below(rng, 6)];
  for (int h : hits) EXPECT_NEAR(h, 10000, 400);
  const std::uint64_t huge = (1ULL << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(uniform_below(rng, huge), huge);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(scaled_below(rng, 3), 3u);
}

// The split's rule: the permutation of positions depends on neither the values nor their type.
TEST(PinnedRandom, ExactFisherYatesIsPinned) {
  std::mt19937_64 rng(42);
  std::vector<std::size_t> ten = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  fisher_yates(ten, rng, IndexDraw::exact);
  EXPECT_EQ(ten, (std::vector<std::size_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
  std::vector<std::uint32_t> small = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::mt19937_64 again(42);
  fisher_yates(small, again, IndexDraw::exact);
  EXPECT_EQ(std::vector<std::size_t>(small.begin(), small.end()), ten);
}

TEST(PinnedRandom, FisherYatesDrawsOncePerElementButTheFirst) {
  for (std::size_t n : {0u, 1u, 2u, 9u}) {
    std::vector<std::size_t> items(n);
    std::mt19937_64 rng(3), reference(3);
    fisher_yates(items, rng, IndexDraw::scaled);
    reference.discard(n < 2 ? 0 : n - 1);
    EXPECT_EQ(rng(), reference()) << n;
  }
}

// The epoch orders of ImageBatches (and TensorBatches), as every recorded run drew them.
TEST(PinnedRandom, ShuffledOrderIsPinned) {
  using Order = std::vector<std::uint32_t>;
  EXPECT_EQ(shuffled_order(10, 42, 0), (Order{0, 3, 8, 4, 5, 6, 1, 7, 2, 9}));
  EXPECT_EQ(shuffled_order(10, 42, 1), (Order{8, 9, 4, 3, 1, 6, 2, 7, 0, 5}));
  EXPECT_EQ(shuffled_order(23, 42, 0), (Order{16, 0,  7, 15, 3,  2, 11, 14, 9,  17, 22, 12,
                                              1,  13, 8, 10, 18, 6, 19, 4,  20, 5,  21}));
  EXPECT_EQ(shuffled_order(12, 7, -1), (Order{7, 11, 5, 10, 3, 6, 9, 4, 2, 1, 0, 8}));
  EXPECT_EQ(shuffled_order(1, 42, 0), (Order{0}));
  EXPECT_TRUE(shuffled_order(0, 42, 0).empty());
}

TEST(PinnedRandom, ShuffledOrderIsFisherYatesOnTheShuffleStream) {
  std::vector<std::uint32_t> expected(50);
  std::iota(expected.begin(), expected.end(), 0u);
  std::mt19937_64 rng(derive_seed(1234, Stream::shuffle, 5));
  fisher_yates(expected, rng, IndexDraw::scaled);
  EXPECT_EQ(shuffled_order(50, 1234, 5), expected);
  std::vector<std::uint32_t> sorted = expected;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t k = 0; k < 50; ++k) EXPECT_EQ(sorted[k], k);
}

}  // namespace
}  // namespace tlr
