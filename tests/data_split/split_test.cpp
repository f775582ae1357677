#include "engine/data/split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/data/split_shuffle.h"
#include "engine/util/pinned_random.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace {

// A data set of labels and subsets only; the split step never decodes an image.
class FakeDataset final : public Dataset {
 public:
  FakeDataset(std::vector<std::string> classes, std::vector<int> labels,
              std::vector<std::string> subsets = {})
      : classes_(std::move(classes)), labels_(std::move(labels)), subsets_(std::move(subsets)) {}

  std::vector<std::string> classes() const override { return classes_; }
  std::size_t size() const override { return labels_.size(); }
  int label(std::size_t i) const override { return labels_.at(i); }
  cv::Mat image(std::size_t) const override { return cv::Mat(); }
  std::string id(std::size_t i) const override { return "s" + std::to_string(i); }
  std::string subset(std::size_t i) const override {
    return subsets_.empty() ? "" : subsets_.at(i);
  }
  std::string fingerprint() const override { return "fake"; }

 private:
  std::vector<std::string> classes_;
  std::vector<int> labels_;
  std::vector<std::string> subsets_;
};

// `per_class` samples of each class, interleaved (label = index % number of classes).
FakeDataset balanced(std::vector<std::string> classes, int per_class) {
  std::vector<int> labels;
  const int k = static_cast<int>(classes.size());
  labels.reserve(static_cast<std::size_t>(per_class) * classes.size());
  for (int i = 0; i < per_class * k; ++i) labels.push_back(i % k);
  return FakeDataset(std::move(classes), std::move(labels));
}

// Per class: `train` in train, `val` in val, `test` in test, listed subset by subset.
FakeDataset with_subsets(std::vector<std::string> classes, int train, int val, int test) {
  std::vector<int> labels;
  std::vector<std::string> subsets;
  const int k = static_cast<int>(classes.size());
  for (auto [name, n] :
       {std::pair<const char*, int>{"train", train}, {"val", val}, {"test", test}}) {
    for (int i = 0; i < n * k; ++i) {
      labels.push_back(i % k);
      subsets.emplace_back(name);
    }
  }
  return FakeDataset(std::move(classes), std::move(labels), std::move(subsets));
}

SplitPlan split(const Dataset& data, const std::string& json) {
  return make_split(data, Params::from_json(json));
}

// How many samples of each dataset label a list holds.
std::map<int, int> counts(const Dataset& data, const std::vector<std::size_t>& indices) {
  std::map<int, int> out;
  for (std::size_t i : indices) ++out[data.label(i)];
  return out;
}

void expect_disjoint(const SplitPlan& plan) {
  std::set<std::size_t> seen;
  for (const auto* list : {&plan.train, &plan.val, &plan.test}) {
    for (std::size_t i : *list) EXPECT_TRUE(seen.insert(i).second) << "index " << i << " twice";
  }
}

// Class-major in the plan's label order, ascending within a class.
void expect_class_major(const Dataset& data, const SplitPlan& plan,
                        const std::vector<std::size_t>& indices) {
  for (std::size_t k = 1; k < indices.size(); ++k) {
    const int before = plan.label_of_dataset[data.label(indices[k - 1])];
    const int now = plan.label_of_dataset[data.label(indices[k])];
    EXPECT_TRUE(before < now || (before == now && indices[k - 1] < indices[k])) << "at " << k;
  }
}

const char* const kRecipe =
    R"({"per_class": {"train": 1500, "val": 500, "test": 500}, "seed": 42})";

TEST(Split, SeedRecipeGives3000Train1000Val1000Test) {
  const FakeDataset data = balanced({"cat", "dog"}, 2500);
  const SplitPlan plan = split(data, kRecipe);
  EXPECT_EQ(plan.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(plan.label_of_dataset, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.train.size(), 3000u);
  EXPECT_EQ(plan.val.size(), 1000u);
  EXPECT_EQ(plan.test.size(), 1000u);
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 1500}, {1, 1500}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 500}, {1, 500}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 500}, {1, 500}}));
  expect_disjoint(plan);
  for (const auto* list : {&plan.train, &plan.val, &plan.test}) {
    expect_class_major(data, plan, *list);
  }
  EXPECT_EQ(plan.fingerprint.size(), 16u);
}

TEST(Split, SameSeedSameSplitDifferentSeedDifferentSplit) {
  const FakeDataset data = balanced({"cat", "dog"}, 2500);
  const SplitPlan a = split(data, kRecipe);
  const SplitPlan b = split(data, kRecipe);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.val, b.val);
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.fingerprint, b.fingerprint);
  const SplitPlan c =
      split(data, R"({"per_class": {"train": 1500, "val": 500, "test": 500}, "seed": 43})");
  EXPECT_NE(a.train, c.train);
  EXPECT_NE(a.val, c.val);
  EXPECT_NE(a.test, c.test);
  EXPECT_NE(a.fingerprint, c.fingerprint);
}

// train_val_seed redraws train and val from what test leaves; the test images stay, with one pool
// and with the dataset's own subsets (val carved from train).
TEST(Split, TrainValSeedRedrawsTrainAndValButNotTest) {
  const FakeDataset data = balanced({"cat", "dog"}, 2500);
  const std::string per_class = R"("per_class": {"train": 100, "val": 50, "test": 500})";
  const SplitPlan a = split(data, "{" + per_class + "}");
  const SplitPlan b = split(data, "{" + per_class + R"(, "train_val_seed": 7})");
  const SplitPlan c = split(data, "{" + per_class + R"(, "train_val_seed": 8})");
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.test, c.test);
  EXPECT_NE(a.train, b.train);
  EXPECT_NE(b.train, c.train);
  EXPECT_NE(a.val, b.val);
  EXPECT_NE(a.fingerprint, b.fingerprint);
  EXPECT_EQ(b.train, split(data, "{" + per_class + R"(, "train_val_seed": 7})").train);
  for (const SplitPlan* plan : {&b, &c}) {
    std::vector<std::size_t> all = plan->train;
    all.insert(all.end(), plan->val.begin(), plan->val.end());
    all.insert(all.end(), plan->test.begin(), plan->test.end());
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "no image twice";
  }
  const FakeDataset shipped = with_subsets({"cat", "dog"}, 400, 0, 100);
  const std::string carved = R"("per_class": {"train": 50, "val": 20})";
  const SplitPlan d = split(shipped, "{" + carved + "}");
  const SplitPlan e = split(shipped, "{" + carved + R"(, "train_val_seed": 3})");
  EXPECT_EQ(d.test, e.test);
  EXPECT_NE(d.train, e.train);
  EXPECT_NE(d.val, e.val);
}

// The exact samples of seed 42 are part of the contract: a change here changes every recorded
// experiment's data.
TEST(Split, SeedFortyTwoDrawsThesePinnedSamples) {
  const FakeDataset data = balanced({"cat", "dog"}, 20);
  const SplitPlan plan = split(data, R"({"per_class": {"train": 3, "val": 2, "test": 2}})");
  EXPECT_EQ(plan.train, (std::vector<std::size_t>{18, 20, 32, 9, 21, 23}));
  EXPECT_EQ(plan.val, (std::vector<std::size_t>{4, 12, 25, 35}));
  EXPECT_EQ(plan.test, (std::vector<std::size_t>{2, 16, 17, 27}));
}

TEST(Split, DefaultSeedIsFortyTwo) {
  const FakeDataset data = balanced({"cat", "dog"}, 2500);
  EXPECT_EQ(split(data, kRecipe).train,
            split(data, R"({"per_class": {"train": 1500, "val": 500, "test": 500}})").train);
}

TEST(Split, FractionsOfEachClass) {
  const FakeDataset data = balanced({"a", "b"}, 100);
  const SplitPlan plan = split(data, R"({"per_class": {"train": 0.7, "val": 0.15, "test": 0.15}})");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 70}, {1, 70}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 15}, {1, 15}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 15}, {1, 15}}));
  expect_disjoint(plan);
}

TEST(Split, FractionsSummingToOneUseEverySample) {
  const FakeDataset data = balanced({"a", "b", "c"}, 10);
  const SplitPlan plan = split(data, R"({"per_class": {"train": 0.5, "val": 0.25, "test": 0.25}})");
  EXPECT_EQ(plan.train.size() + plan.val.size() + plan.test.size(), 30u);
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 3}, {1, 3}, {2, 3}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 2}, {1, 2}, {2, 2}}));
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 5}, {1, 5}, {2, 5}}));
  expect_disjoint(plan);
}

TEST(Split, FractionsAboveOneAreAnError) {
  const FakeDataset data = balanced({"a", "b"}, 100);
  EXPECT_THROW_MSG(split(data, R"({"per_class": {"train": 0.6, "val": 0.3, "test": 0.2}})"), Error,
                   "data.split: error: per_class fractions sum to 1.1, more than 1");
}

TEST(Split, CountsAndFractionsMix) {
  const FakeDataset data = balanced({"a", "b"}, 100);
  const SplitPlan plan = split(data, R"({"per_class": {"train": 10, "val": 0.2, "test": 0.1}})");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 10}, {1, 10}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 20}, {1, 20}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 10}, {1, 10}}));
}

TEST(Split, NonIntegerCountIsAnError) {
  const FakeDataset data = balanced({"a", "b"}, 100);
  EXPECT_THROW_MSG(split(data, R"({"per_class": {"train": 1.5}})"), Error,
                   "data.split: error: per_class.train is 1.5; expected a count (an integer) or a "
                   "fraction below 1");
  EXPECT_THROW_MSG(split(data, R"({"per_class": {"val": -2}})"), Error,
                   "data.split: error: per_class.val is -2; expected a count or fraction >= 0");
}

TEST(Split, TrainDefaultsToTheRest) {
  const FakeDataset data = balanced({"a", "b"}, 100);
  const SplitPlan plan = split(data, R"({"per_class": {"val": 10, "test": 20}})");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 70}, {1, 70}}));
  const SplitPlan all = split(data, "{}");
  EXPECT_EQ(all.train.size(), 200u);
  EXPECT_TRUE(all.val.empty());
  EXPECT_TRUE(all.test.empty());
}

TEST(Split, ClassSubsetIsRelabelledInTheGivenOrder) {
  const FakeDataset data = balanced({"a", "b", "c", "d"}, 20);
  const SplitPlan plan =
      split(data, R"({"classes": ["c", "a"], "per_class": {"train": 10, "val": 5, "test": 5}})");
  EXPECT_EQ(plan.classes, (std::vector<std::string>{"c", "a"}));
  EXPECT_EQ(plan.label_of_dataset, (std::vector<int>{1, -1, 0, -1}));
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 10}, {2, 10}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 5}, {2, 5}}));
  EXPECT_EQ(data.label(plan.train.front()), 2);  // class "c" comes first
  EXPECT_EQ(data.label(plan.train.back()), 0);
  expect_class_major(data, plan, plan.train);
}

// A class's draw depends on the seed and its name, not on the other classes kept.
TEST(Split, ClassDrawDoesNotDependOnTheOtherClasses) {
  const FakeDataset data = balanced({"a", "b", "c"}, 50);
  const char* counts_json = R"("per_class": {"train": 10, "val": 5, "test": 5})";
  const SplitPlan both =
      split(data, std::string(R"({"classes": ["b", "a"], )") + counts_json + "}");
  const SplitPlan one = split(data, std::string(R"({"classes": ["a"], )") + counts_json + "}");
  const std::vector<std::size_t> a_in_both(both.train.begin() + 10, both.train.end());
  EXPECT_EQ(a_in_both, one.train);
}

// Changing only the train count leaves val and test alone and grows train by adding samples.
TEST(Split, TrainSetsNestAsTheTrainCountGrows) {
  const FakeDataset data = balanced({"a", "b"}, 300);
  const SplitPlan small = split(data, R"({"per_class": {"train": 50, "val": 20, "test": 20}})");
  const SplitPlan large = split(data, R"({"per_class": {"train": 200, "val": 20, "test": 20}})");
  EXPECT_EQ(small.val, large.val);
  EXPECT_EQ(small.test, large.test);
  std::vector<std::size_t> small_train = small.train, large_train = large.train;
  std::sort(small_train.begin(), small_train.end());
  std::sort(large_train.begin(), large_train.end());
  EXPECT_TRUE(std::includes(large_train.begin(), large_train.end(), small_train.begin(),
                            small_train.end()));
}

TEST(Split, UnknownClassSuggestsTheNearestName) {
  const FakeDataset data = balanced({"T-shirt/top", "Trouser", "Shirt"}, 5);
  EXPECT_THROW_MSG(split(data, R"({"classes": ["T-shirt/top", "Shrit"]})"), Error,
                   "data.split: error: unknown class 'Shrit'; did you mean 'Shirt'?");
  EXPECT_THROW_MSG(split(data, R"({"classes": ["zebra"]})"), Error,
                   "data.split: error: unknown class 'zebra'; known: T-shirt/top, Trouser, Shirt");
  EXPECT_THROW_MSG(split(data, R"({"classes": ["Shirt", "Shirt"]})"), Error,
                   "data.split: error: classes lists 'Shirt' twice");
}

TEST(Split, CountsLargerThanTheClassAreAnError) {
  const FakeDataset data = balanced({"T-shirt/top", "Shirt"}, 6000);
  EXPECT_THROW_MSG(
      split(data, R"({"classes": ["Shirt"],
                              "per_class": {"train": 1500, "val": 500, "test": 5000}})"),
      Error, "data.split: error: class 'Shirt' has 6000 images, per_class asks 1500+500+5000");
  EXPECT_THROW_MSG(
      split(data, R"({"per_class": {"val": 3000, "test": 3001}})"), Error,
      "data.split: error: class 'T-shirt/top' has 6000 images, per_class asks 3000+3001 "
      "(val+test)");
}

TEST(Split, EmptyClassIsAnError) {
  const FakeDataset data({"a", "b"}, {0, 0, 0});
  EXPECT_THROW_MSG(split(data, R"({"per_class": {"train": 1}})"), Error,
                   "data.split: error: class 'b' has no images");
}

TEST(Split, UnknownKeysAreAnError) {
  const FakeDataset data = balanced({"a", "b"}, 10);
  EXPECT_THROW_MSG(split(data, R"({"sed": 1})"), Error,
                   "data.split: error: unknown key 'sed'; did you mean 'seed'?");
  EXPECT_THROW_MSG(split(data, R"({"per_class": {"valid": 3}})"), Error,
                   "data.split: error: unknown key 'per_class.valid'; did you mean 'val'?");
  EXPECT_THROW_MSG(split(data, R"({"seed": "x"})"), Error,
                   "data.split: error: parameter 'seed': expected an integer, got a string");
}

TEST(Split, DatasetSubsetsAreUsedWhole) {
  const FakeDataset data = with_subsets({"a", "b"}, 30, 10, 8);
  const SplitPlan plan = split(data, "{}");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 30}, {1, 30}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 10}, {1, 10}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 8}, {1, 8}}));
  for (std::size_t i : plan.train) EXPECT_EQ(data.subset(i), "train");
  for (std::size_t i : plan.val) EXPECT_EQ(data.subset(i), "val");
  for (std::size_t i : plan.test) EXPECT_EQ(data.subset(i), "test");
  expect_class_major(data, plan, plan.train);
}

TEST(Split, CountsAreSampledFromTheMatchingSubset) {
  const FakeDataset data = with_subsets({"a", "b"}, 30, 10, 8);
  const SplitPlan plan = split(data, R"({"per_class": {"train": 12, "val": 4, "test": 3}})");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 12}, {1, 12}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 4}, {1, 4}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 3}, {1, 3}}));
  for (std::size_t i : plan.train) EXPECT_EQ(data.subset(i), "train");
  for (std::size_t i : plan.val) EXPECT_EQ(data.subset(i), "val");
  for (std::size_t i : plan.test) EXPECT_EQ(data.subset(i), "test");
  EXPECT_THROW_MSG(
      split(data, R"({"per_class": {"test": 9}})"), Error,
      "data.split: error: class 'a' has 8 images in subset 'test', per_class asks 9 (test)");
}

// CIFAR-10 ships train and test only; cifar10_vgg19.yaml holds 30% of train out as validation
// (docs/experiments.md).
TEST(Split, ValIsCarvedOutOfTrainWhenTheDatasetHasNone) {
  const FakeDataset data = with_subsets({"a", "b"}, 100, 0, 20);
  const SplitPlan plan = split(data, R"({"per_class": {"val": 0.3}})");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 70}, {1, 70}}));
  EXPECT_EQ(counts(data, plan.val), (std::map<int, int>{{0, 30}, {1, 30}}));
  EXPECT_EQ(counts(data, plan.test), (std::map<int, int>{{0, 20}, {1, 20}}));
  for (std::size_t i : plan.val) EXPECT_EQ(data.subset(i), "train");
  expect_disjoint(plan);
  const SplitPlan none = split(data, "{}");
  EXPECT_TRUE(none.val.empty());
  EXPECT_EQ(none.train.size(), 200u);
}

TEST(Split, ClassMissingFromASubsetIsAnError) {
  FakeDataset data({"a", "b"}, {0, 1, 0, 1, 0}, {"train", "train", "val", "val", "test"});
  EXPECT_THROW_MSG(split(data, "{}"), Error,
                   "data.split: error: class 'b' has no images in subset 'test'");
}

TEST(Split, SubsetsCanBeIgnored) {
  const FakeDataset data = with_subsets({"a", "b"}, 30, 10, 8);
  const SplitPlan plan =
      split(data, R"({"use_subsets": false, "per_class": {"train": 40, "val": 4, "test": 4}})");
  EXPECT_EQ(counts(data, plan.train), (std::map<int, int>{{0, 40}, {1, 40}}));
  expect_disjoint(plan);
}

TEST(Split, UseSubsetsNeedsADatasetWithSubsets) {
  const FakeDataset data = balanced({"a", "b"}, 10);
  EXPECT_THROW_MSG(
      split(data, R"({"use_subsets": true})"), Error,
      "data.split: error: use_subsets is true, but the dataset reports no train/val/test "
      "subsets");
}

TEST(Split, FingerprintFollowsTheParameters) {
  const FakeDataset data = balanced({"a", "b"}, 10);
  EXPECT_EQ(split(data, R"({"seed": 1})").fingerprint, split(data, R"({"seed": 1})").fingerprint);
  EXPECT_NE(split(data, R"({"seed": 1})").fingerprint, split(data, R"({"seed": 2})").fingerprint);
}

// std::mt19937_64 is specified exactly: its 10000th output from the default seed is fixed by the
// C++ standard. Everything else the split draws is computed from it by this code.
TEST(SplitShuffle, GeneratorIsTheStandardOne) {
  std::mt19937_64 rng;
  rng.discard(9999);
  EXPECT_EQ(rng(), 9981545732273789042ULL);
}

TEST(SplitShuffle, UniformBelowStaysInRangeWithoutBias) {
  std::mt19937_64 rng(7);
  EXPECT_EQ(uniform_below(rng, 1), 0u);
  std::vector<int> hits(6, 0);
  for (int i = 0; i < 60000; ++i) ++hits[uniform_below(rng, 6)];
  for (int h : hits) EXPECT_NEAR(h, 10000, 400);
  const std::uint64_t huge = (1ULL << 63) + 12345;
  for (int i = 0; i < 1000; ++i) EXPECT_LT(uniform_below(rng, huge), huge);
}

TEST(SplitShuffle, ShuffleIsAPinnedPermutation) {
  std::vector<std::size_t> items = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::mt19937_64 rng(42);
  fisher_yates(items, rng, IndexDraw::exact);
  EXPECT_EQ(items, (std::vector<std::size_t>{1, 7, 9, 0, 3, 8, 4, 2, 5, 6}));
  EXPECT_EQ(stream_seed(42, "cat", ""), 13148994432571567300ULL);
}

// A class's stream seed is SplitMix64 of the named stream, and the draw from it is pinned too.
TEST(SplitShuffle, StreamSeedAndItsDrawArePinned) {
  EXPECT_EQ(stream_seed(42, "cat", ""),
            splitmix64(42 ^ splitmix64(fnv1a64(std::string("cat") + std::string(1, '\0')))));
  EXPECT_EQ(stream_seed(1, "T-shirt/top", "train"), 14354247338356299094ULL);
  std::vector<std::size_t> items;
  for (std::size_t i = 0; i < 20; ++i) items.push_back(100 + i);
  std::mt19937_64 rng(stream_seed(42, "dog", "train"));
  fisher_yates(items, rng, IndexDraw::exact);
  EXPECT_EQ(items, (std::vector<std::size_t>{111, 103, 115, 104, 114, 110, 106, 107, 117, 102,
                                             113, 118, 100, 112, 101, 105, 109, 116, 108, 119}));
}

}  // namespace
}  // namespace tlr
