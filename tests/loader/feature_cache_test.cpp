// FeatureCache: a hit returns the stored tensors bit for bit without computing, another key
// misses, a truncated, changed, garbage or wrong entry is recomputed and said so, a failed write is
// a warning, and a failed or malformed compute() stores nothing.
#include "engine/data/feature_cache.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/test_files.h"
#include "tlr/error.h"

namespace tlr {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// Features whose bytes matter: signed zeros, a denormal, infinities, NaN, and arbitrary values.
FeatureSet sample_set() {
  torch::Tensor features = torch::randn({5, 3, 2}, torch::TensorOptions().dtype(torch::kFloat32));
  float* f = features.data_ptr<float>();
  f[0] = -0.0f;
  f[1] = std::numeric_limits<float>::denorm_min();
  f[2] = std::numeric_limits<float>::infinity();
  f[3] = -std::numeric_limits<float>::infinity();
  f[4] = std::numeric_limits<float>::quiet_NaN();
  return FeatureSet{features, torch::tensor({1, 0, 1, 1, 0}, torch::kInt64)};
}

std::string invalid(const std::string& path) {
  return path +
         ": warning: not a valid feature cache file (truncated, corrupt or of an older format); "
         "recomputing it";
}

bool same_bytes(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  const torch::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.nbytes()) == 0;
}

class FeatureCacheTest : public ::testing::Test {
 protected:
  // get() with a compute() that counts its calls and returns `set_`.
  FeatureSet get(const std::string& key) {
    return cache_.get(key, [&] {
      ++computed_;
      return set_;
    });
  }
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / "features")) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir dir_;
  FeatureCache cache_{(dir_ / "features").string()};
  FeatureSet set_ = sample_set();
  int computed_ = 0;
};

TEST_F(FeatureCacheTest, MissComputesAndStoresTheEntry) {
  const FeatureSet first = get("abc");
  EXPECT_EQ(computed_, 1);
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.cache_problem, "");
  EXPECT_TRUE(same_bytes(first.features, set_.features));
  EXPECT_EQ(cache_.path_for("abc"), (dir_ / "features" / "abc.pt").string());
  EXPECT_EQ(files(), (std::vector<std::string>{"abc.pt"}));  // no temporary file left behind
}

TEST_F(FeatureCacheTest, HitReturnsTheStoredTensorsBitForBit) {
  const FeatureSet stored = get("abc");
  // A later run: another FeatureCache on the same folder, whose compute() must not be called.
  FeatureCache later((dir_ / "features").string());
  const FeatureSet hit =
      later.get("abc", []() -> FeatureSet { throw std::logic_error("computed on a hit"); });
  EXPECT_TRUE(hit.from_cache);
  EXPECT_EQ(hit.cache_problem, "");
  EXPECT_TRUE(same_bytes(hit.features, stored.features));
  EXPECT_TRUE(same_bytes(hit.labels, stored.labels));
  EXPECT_EQ(hit.features.sizes(), (std::vector<std::int64_t>{5, 3, 2}));
  EXPECT_TRUE(std::signbit(hit.features.data_ptr<float>()[0]));
  EXPECT_TRUE(std::isnan(hit.features.data_ptr<float>()[4]));
  EXPECT_NE(hit.features.data_ptr(), stored.features.data_ptr());  // read from the file
  EXPECT_EQ(computed_, 1);
}

TEST_F(FeatureCacheTest, AnotherKeyMisses) {
  const FeatureSet a = get("key-a");
  const FeatureSet b = get("key-b");
  EXPECT_EQ(computed_, 2);
  EXPECT_FALSE(b.from_cache);
  EXPECT_EQ(files(), (std::vector<std::string>{"key-a.pt", "key-b.pt"}));
  EXPECT_TRUE(get("key-a").from_cache);
  EXPECT_EQ(computed_, 2);
}

TEST_F(FeatureCacheTest, TruncatedEntryIsRecomputedAndRewritten) {
  get("abc");
  const std::string path = cache_.path_for("abc");
  fs::resize_file(path, fs::file_size(path) / 2);
  const FeatureSet again = get("abc");
  EXPECT_EQ(computed_, 2);
  EXPECT_FALSE(again.from_cache);
  EXPECT_EQ(again.cache_problem, invalid(path));
  EXPECT_TRUE(same_bytes(again.features, set_.features));
  const FeatureSet hit = get("abc");
  EXPECT_TRUE(hit.from_cache);
  EXPECT_EQ(hit.cache_problem, "");
  EXPECT_EQ(computed_, 2);
}

// torch::load checks no checksum; the entry's digest catches a changed byte of the features.
TEST_F(FeatureCacheTest, ChangedByteIsRecomputed) {
  get("abc");
  const std::string path = cache_.path_for("abc");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::size_t at = bytes.find(std::string("\x00\x00\x80\x7f", 4));  // features[0][1][0]: +inf
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] ^= 0x01;  // +inf becomes 0x7e800000
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const FeatureSet again = get("abc");
  EXPECT_EQ(computed_, 2);
  EXPECT_FALSE(again.from_cache);
  EXPECT_EQ(again.cache_problem, invalid(path));
  EXPECT_TRUE(same_bytes(again.features, set_.features));
  EXPECT_TRUE(get("abc").from_cache);
}

TEST_F(FeatureCacheTest, GarbageEntryIsRecomputed) {
  fs::create_directories(dir_ / "features");
  std::ofstream(cache_.path_for("abc")) << "not a tensor file";
  const FeatureSet set = get("abc");
  EXPECT_EQ(computed_, 1);
  EXPECT_FALSE(set.from_cache);
  EXPECT_NE(set.cache_problem, "");
  EXPECT_TRUE(get("abc").from_cache);
}

// A loadable file that is not a feature set (labels not int64, lengths that differ, a digest that
// does not match, the two-tensor entry of earlier versions) is a miss.
TEST_F(FeatureCacheTest, EntryOfTheWrongContentIsRecomputed) {
  fs::create_directories(dir_ / "features");
  const torch::Tensor digest = torch::full({64}, 'a', torch::kUInt8);
  const std::vector<std::vector<torch::Tensor>> wrong = {
      {torch::zeros({5, 2}), torch::zeros({5}, torch::kFloat32), digest},
      {torch::zeros({5, 2}), torch::zeros({4}, torch::kInt64), digest},
      {torch::zeros({5, 2}), torch::zeros({5}, torch::kInt64), digest},
      {torch::zeros({5, 2}), torch::zeros({5}, torch::kInt64)}};
  for (const auto& tensors : wrong) {
    torch::save(tensors, cache_.path_for("abc"));
    const int before = computed_;
    const FeatureSet set = get("abc");
    EXPECT_EQ(computed_, before + 1);
    EXPECT_FALSE(set.from_cache);
    EXPECT_EQ(set.cache_problem, invalid(cache_.path_for("abc")));
  }
}

TEST_F(FeatureCacheTest, FailedWriteIsAWarningAndTheFeaturesAreKept) {
  std::ofstream(dir_ / "blocker") << "a file where the folder should be";
  FeatureCache blocked((dir_ / "blocker" / "features").string());
  const FeatureSet set = blocked.get("abc", [&] { return set_; });
  EXPECT_FALSE(set.from_cache);
  EXPECT_TRUE(same_bytes(set.features, set_.features));
  // The line says why: here, a file where the folder should be.
  const std::string expected_start =
      blocked.path_for("abc") + ": warning: cannot write the feature cache file (";
  EXPECT_EQ(set.cache_problem.rfind(expected_start, 0), 0u) << set.cache_problem;
  EXPECT_NE(set.cache_problem.find("Not a directory"), std::string::npos) << set.cache_problem;
  const std::string expected_end = "); the run goes on without it";
  EXPECT_EQ(set.cache_problem.substr(set.cache_problem.size() - expected_end.size()), expected_end);
}

TEST_F(FeatureCacheTest, FailedComputeStoresNothing) {
  EXPECT_THROW(cache_.get("abc", []() -> FeatureSet { throw Error("interrupted"); }), Error);
  EXPECT_FALSE(fs::exists(cache_.path_for("abc")));
  set_ = FeatureSet{torch::zeros({3, 2}), torch::zeros({2}, torch::kInt64)};
  try {
    get("abc");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "feature cache: error: 3 features but 2 labels; expected N × … features and N "
              "int64 labels");
  }
  EXPECT_FALSE(fs::exists(cache_.path_for("abc")));
}

}  // namespace
}  // namespace tlr
