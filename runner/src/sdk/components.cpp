// Out-of-line destructors and defaults of the component interfaces (one home for their vtables).
#include <torch/torch.h>

#include "tlr/augmenter.h"
#include "tlr/dataset.h"
#include "tlr/head.h"
#include "tlr/strategy.h"

namespace tlr {

Dataset::~Dataset() = default;
std::string Dataset::subset(std::size_t) const { return {}; }
cv::Mat Dataset::image_at_least(std::size_t i, const cv::Size&) const { return image(i); }
Augmenter::~Augmenter() = default;
Head::~Head() = default;
Strategy::~Strategy() = default;
Cell::~Cell() = default;
Batches::~Batches() = default;

const char* split_name(Split split) {
  switch (split) {
    case Split::train:
      return "train";
    case Split::val:
      return "val";
    case Split::test:
      return "test";
  }
  return "?";
}

}  // namespace tlr
