// The split step: turns any Dataset into train/val/test index lists, stratified per class,
// reproducible bit-for-bit from a seed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tlr/abi.h"
#include "tlr/dataset.h"
#include "tlr/params.h"

namespace tlr {

// The samples of one experiment's data, after the split step.
struct TLR_API SplitPlan {
  std::vector<std::string> classes;    // the classes kept, in label order
  std::vector<int> label_of_dataset;   // dataset label -> new label, -1 for a class left out
  std::vector<std::size_t> train, val, test;  // indices into the Dataset
  std::string fingerprint;             // hash of the dataset fingerprint + split parameters
};

// `split` is the YAML's data.split object (classes, per_class{train,val,test}, seed, use_subsets).
// Throws tlr::Error for an unknown class name, an empty class, a class missing from a split, or
// per-class counts larger than a class.
TLR_API SplitPlan make_split(const Dataset& dataset, const Params& split);

}  // namespace tlr
