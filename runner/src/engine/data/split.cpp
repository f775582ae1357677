#include "engine/data/split.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <random>
#include <sstream>

#include "engine/data/split_shuffle.h"
#include "engine/util/pinned_random.h"
#include "tlr/error.h"
#include "tlr/names.h"

namespace tlr {
namespace {

enum SplitIndex { kTrain = 0, kVal = 1, kTest = 2 };
const char* const kSplitNames[] = {"train", "val", "test"};

// Dataset::subset() values, as indices: 0 none, 1 train, 2 val, 3 test.
constexpr int kNoSubset = 0;
const char* const kSubsetNames[] = {"", "train", "val", "test"};

[[noreturn]] void fail(const std::string& problem) { throw Error("data.split: error: " + problem); }

// "; did you mean 'x'?" for the nearest known name when it is close, else "; known: a, b, c".
std::string hint(const std::string& name, const std::vector<std::string>& known) {
  std::string guess = did_you_mean(name, known, /*ignore_case=*/true);
  if (!guess.empty()) return guess;
  std::string list;
  for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
  return "; known: " + list;
}

void check_keys(const Params& params, const std::vector<std::string>& known,
                const std::string& prefix) {
  for (const auto& key : params.keys()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      fail("unknown key '" + prefix + key + "'" + hint(key, known));
    }
  }
}

std::string number_text(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// One per_class entry: absent, a count, or a fraction of the pool.
struct Amount {
  bool given = false;
  bool fraction = false;
  double value = 0;
};

Amount read_amount(const Params& per_class, const char* key) {
  Amount a;
  if (!per_class.has(key)) return a;
  a.given = true;
  a.value = per_class.number(key);
  const std::string name = std::string("per_class.") + key;
  if (!(a.value >= 0))
    fail(name + " is " + number_text(a.value) + "; expected a count or fraction >= 0");
  if (a.value > 0 && a.value < 1) {
    a.fraction = true;
  } else if (a.value != std::floor(a.value) || a.value > 1e15) {
    fail(name + " is " + number_text(a.value) +
         "; expected a count (an integer) or a fraction below 1");
  }
  return a;
}

// One split drawn from a pool, in the pool's take order.
struct Draw {
  int split;
  Amount amount;
};

// Shuffles `pool` (ascending dataset indices of one class) with the class's own generator and
// cuts it into the draws' runs, appended to out[split] (each run ascending).
void cut_pool(const std::string& class_name, const std::string& pool_name,
              std::vector<std::size_t> pool, const std::vector<Draw>& draws, std::uint64_t seed,
              const std::optional<std::uint64_t>& train_val_seed,
              std::array<std::vector<std::size_t>, 3>& out) {
  const std::size_t n = pool.size();
  std::vector<std::size_t> counts(draws.size(), 0);
  double fraction_sum = 0;
  long long rounded_before = 0;
  std::size_t fixed = 0;
  for (std::size_t k = 0; k < draws.size(); ++k) {
    const Amount& a = draws[k].amount;
    if (!a.given) continue;
    if (a.fraction) {
      fraction_sum += a.value;
      const long long rounded = std::llround(static_cast<double>(n) * fraction_sum);
      counts[k] = static_cast<std::size_t>(rounded - rounded_before);
      rounded_before = rounded;
    } else {
      counts[k] = static_cast<std::size_t>(a.value);
    }
    fixed += counts[k];
  }
  if (fixed > n) {
    // The amounts asked, in train+val+test order.
    std::string asked, names;
    for (int split : {kTrain, kVal, kTest}) {
      for (std::size_t k = 0; k < draws.size(); ++k) {
        if (draws[k].split != split || !draws[k].amount.given) continue;
        asked += (asked.empty() ? "" : "+") + std::to_string(counts[k]);
        names += (names.empty() ? "" : "+") + std::string(kSplitNames[split]);
      }
    }
    const std::string where = pool_name.empty() ? "" : " in subset '" + pool_name + "'";
    fail("class '" + class_name + "' has " + std::to_string(n) + " images" + where +
         ", per_class asks " + asked + (names == "train+val+test" ? "" : " (" + names + ")"));
  }
  if (!draws.empty() && !draws.back().amount.given) counts.back() = n - fixed;

  std::mt19937_64 rng(stream_seed(seed, class_name, pool_name));
  fisher_yates(pool, rng, IndexDraw::exact);
  std::size_t at = 0;
  bool redrawn = false;
  for (std::size_t k = 0; k < draws.size(); ++k) {
    if (train_val_seed && !redrawn && draws[k].split != kTest) {
      // What the test draw left is shuffled again with the train/val seed: replicates that
      // redraw their training sample keep the same test images.
      std::vector<std::size_t> rest(pool.begin() + at, pool.end());
      std::mt19937_64 rest_rng(stream_seed(*train_val_seed, class_name, pool_name));
      fisher_yates(rest, rest_rng, IndexDraw::exact);
      std::copy(rest.begin(), rest.end(), pool.begin() + at);
      redrawn = true;
    }
    std::vector<std::size_t> run(pool.begin() + at, pool.begin() + at + counts[k]);
    at += counts[k];
    std::sort(run.begin(), run.end());
    auto& dest = out[draws[k].split];
    dest.insert(dest.end(), run.begin(), run.end());
  }
}

int subset_index(const std::string& subset) {
  if (subset.empty()) return kNoSubset;
  if (subset == "train") return 1;
  if (subset == "val" || subset == "validation") return 2;
  if (subset == "test") return 3;
  return -1;
}

std::string hex64(std::uint64_t v) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(v));
  return out;
}

}  // namespace

SplitPlan make_split(const Dataset& dataset, const Params& split) {
  check_keys(split, {"classes", "per_class", "seed", "train_val_seed", "use_subsets"}, "");
  Params per_class;
  std::vector<std::string> wanted;
  std::uint64_t seed = 42;
  std::optional<std::uint64_t> train_val_seed;
  try {
    per_class = split.child("per_class");
    wanted = split.strings("classes");
    seed = static_cast<std::uint64_t>(split.integer("seed", 42));
    if (split.has("train_val_seed")) {
      train_val_seed = static_cast<std::uint64_t>(split.integer("train_val_seed", 0));
    }
  } catch (const Error& e) {
    fail(e.what());
  }
  check_keys(per_class, {"train", "val", "test"}, "per_class.");
  Amount amounts[3];
  double fraction_total = 0;
  for (int s : {kTrain, kVal, kTest}) {
    try {
      amounts[s] = read_amount(per_class, kSplitNames[s]);
    } catch (const Error& e) {
      const std::string what = e.what();
      if (what.rfind("data.split:", 0) == 0) throw;
      fail("per_class: " + what);
    }
    if (amounts[s].fraction) fraction_total += amounts[s].value;
  }
  if (fraction_total > 1 + 1e-9) {
    fail("per_class fractions sum to " + number_text(fraction_total) + ", more than 1");
  }

  // Classes kept, in the new label order.
  const std::vector<std::string> all = dataset.classes();
  if (wanted.empty()) wanted = all;
  SplitPlan plan;
  plan.label_of_dataset.assign(all.size(), -1);
  for (const auto& name : wanted) {
    const auto it = std::find(all.begin(), all.end(), name);
    if (it == all.end()) fail("unknown class '" + name + "'" + hint(name, all));
    const auto label = static_cast<std::size_t>(it - all.begin());
    if (plan.label_of_dataset[label] != -1) fail("classes lists '" + name + "' twice");
    plan.label_of_dataset[label] = static_cast<int>(plan.classes.size());
    plan.classes.push_back(name);
  }

  // Samples of each kept class by subset, ascending.
  const std::size_t k_classes = plan.classes.size();
  std::vector<std::array<std::vector<std::size_t>, 4>> by_class(k_classes);
  bool present[4] = {false, false, false, false};
  std::size_t first_unassigned = 0;
  const std::size_t n = dataset.size();
  for (std::size_t i = 0; i < n; ++i) {
    const int label = dataset.label(i);
    if (label < 0 || static_cast<std::size_t>(label) >= all.size()) {
      fail("sample '" + dataset.id(i) + "' has label " + std::to_string(label) +
           ", but the dataset has " + std::to_string(all.size()) + " classes");
    }
    const std::string subset = dataset.subset(i);
    const int s = subset_index(subset);
    if (s < 0) {
      fail("sample '" + dataset.id(i) + "' is in subset '" + subset +
           "'; expected train, val or test");
    }
    if (s == kNoSubset && !present[kNoSubset]) first_unassigned = i;
    present[s] = true;
    const int kept = plan.label_of_dataset[static_cast<std::size_t>(label)];
    if (kept >= 0) by_class[static_cast<std::size_t>(kept)][s].push_back(i);
  }
  const bool has_subsets = present[1] || present[2] || present[3];
  bool use_subsets = has_subsets;
  try {
    use_subsets = split.boolean("use_subsets", has_subsets);
  } catch (const Error& e) {
    fail(e.what());
  }
  if (use_subsets) {
    if (!has_subsets)
      fail("use_subsets is true, but the dataset reports no train/val/test subsets");
    if (present[kNoSubset]) {
      fail("sample '" + dataset.id(first_unassigned) +
           "' is in no subset while others are; set use_subsets: false");
    }
    if (!present[1]) fail("the dataset ships no train subset; set use_subsets: false");
  }

  std::array<std::vector<std::size_t>, 3> out;
  for (std::size_t c = 0; c < k_classes; ++c) {
    const std::string& name = plan.classes[c];
    auto& pools = by_class[c];
    if (!use_subsets) {
      std::vector<std::size_t> pool;
      for (const auto& p : pools) pool.insert(pool.end(), p.begin(), p.end());
      std::sort(pool.begin(), pool.end());
      if (pool.empty()) fail("class '" + name + "' has no images");
      cut_pool(name, "", std::move(pool),
               {{kTest, amounts[kTest]}, {kVal, amounts[kVal]}, {kTrain, amounts[kTrain]}}, seed,
               train_val_seed, out);
      continue;
    }
    for (int s = 1; s <= 3; ++s) {
      if (present[s] && pools[s].empty()) {
        fail("class '" + name + "' has no images in subset '" + kSubsetNames[s] + "'");
      }
    }
    // Splits the dataset does not ship are carved out of its train subset when asked for.
    std::vector<Draw> from_train;
    if (!present[3] && amounts[kTest].given) from_train.push_back({kTest, amounts[kTest]});
    if (!present[2] && amounts[kVal].given) from_train.push_back({kVal, amounts[kVal]});
    from_train.push_back({kTrain, amounts[kTrain]});
    cut_pool(name, "train", std::move(pools[1]), from_train, seed, train_val_seed, out);
    if (present[2]) {
      cut_pool(name, "val", std::move(pools[2]), {{kVal, amounts[kVal]}}, seed, train_val_seed,
               out);
    }
    if (present[3]) {
      cut_pool(name, "test", std::move(pools[3]), {{kTest, amounts[kTest]}}, seed, train_val_seed,
               out);
    }
  }
  plan.train = std::move(out[kTrain]);
  plan.val = std::move(out[kVal]);
  plan.test = std::move(out[kTest]);

  std::string key = "tlr-split-1";
  key += '\0' + dataset.fingerprint() + '\0' + split.json() + '\0' + (use_subsets ? "1" : "0");
  plan.fingerprint = hex64(fnv1a64(key));
  return plan;
}

}  // namespace tlr
