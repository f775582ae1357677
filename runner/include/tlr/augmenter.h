// An augmenter plugin: a random image transform applied to training images only.
#pragma once

#include <cstdint>
#include <opencv2/core/mat.hpp>
#include <random>
#include <string>

#include "tlr/abi.h"

namespace tlr {

class TLR_API Augmenter {
 public:
  virtual ~Augmenter();
  // Returns a transformed copy of an RGB image (CV_8UC3 or CV_32FC3 in [0,1]); the output has the
  // same size and type. Must draw all randomness from `rng`: the runner seeds it from
  // (seed, epoch, sample index), so a run replays exactly. Must be safe to call concurrently with
  // distinct rngs.
  virtual cv::Mat apply(const cv::Mat& image, std::mt19937_64& rng) const = 0;
};

}  // namespace tlr
