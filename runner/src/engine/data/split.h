// The split step: turns any Dataset into train/val/test index lists, stratified per class,
// reproducible bit-for-bit from a seed.
//
// Parameters (the YAML's data.split object):
//   classes      names to keep, in the new label order; absent or []: every class of the dataset
//   per_class    {train, val, test}: each a count (an integer >= 0) or a fraction of the class's
//                pool (a number < 1); the fractions must sum to <= 1. Fractions are rounded on the
//                running sum (round(N*f_test), round(N*(f_test+f_val)) - that, ...), so fractions
//                summing to 1 use every sample
//   seed         default 42
//   train_val_seed  when given, what the test draw leaves of each pool is shuffled again with
//                this seed before val and train are cut from it: other train/val images, the same
//                test images (replicates with `vary: [train_sample]`)
//   use_subsets  default: true when the dataset reports subsets (Dataset::subset() not "")
//
// Pools. Each class's samples are drawn from pools without replacement:
//   use_subsets false: one pool, the whole class; test is taken first, then val, then train.
//   use_subsets true:  the dataset's train, val and test subsets are the pools of the splits of
//                      the same name. A split whose subset the dataset does not ship (typically
//                      val) is carved out of the train subset when per_class gives it an amount,
//                      and is empty otherwise; the train pool then gives test, then val, then
//                      train.
// In every pool the split taken last (train, or the only one) gets the rest of the pool when
// per_class does not name it; an unnamed earlier split gets nothing. So without per_class the
// dataset's subsets are used whole, and a dataset without subsets becomes all train.
//
// Drawing. Each (class, pool) has its own std::mt19937_64 seeded with
// stream_seed(seed, class name, pool) (split_shuffle.h); the pool, sorted by dataset index, is
// shuffled whole with fisher_yates(pool, rng, IndexDraw::exact) (engine/util/pinned_random.h)
// and cut into consecutive runs. Taking test and
// val before train keeps them fixed when only the train count changes (train sets then nest), and
// a class's draw does not depend on the other classes kept.
//
// Order. Within a split: class-major in the new label order, each class's indices ascending (the
// loader shuffles per epoch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tlr/dataset.h"
#include "tlr/params.h"

namespace tlr {

// The samples of one experiment's data, after the split step.
struct SplitPlan {
  std::vector<std::string> classes;           // the classes kept, in label order
  std::vector<int> label_of_dataset;          // dataset label -> new label, -1 for a class left out
  std::vector<std::size_t> train, val, test;  // indices into the Dataset
  std::string fingerprint;                    // hash of the dataset fingerprint + split parameters
};

// `split` is the YAML's data.split object (classes, per_class{train,val,test}, seed,
// train_val_seed, use_subsets).
// Throws tlr::Error, "data.split: error: ..." on one line, for an unknown key or class name (with
// a did-you-mean), an empty class, a class missing from a subset, per-class counts larger than a
// class (`class 'Shirt' has 6000 images, per_class asks 1500+500+5000`), or fractions summing
// to more than 1.
SplitPlan make_split(const Dataset& dataset, const Params& split);

}  // namespace tlr
