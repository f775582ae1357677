// What a model's input images look like: the data.input block of an experiment.
#pragma once

#include <vector>

#include "tlr/params.h"

namespace tlr {

// How a decoded image becomes height × width.
struct ImageFit {
  enum class Mode {
    stretch,      // the whole image resized to the size (Keras' target_size)
    center_crop,  // scaled to cover the size / crop_fraction, then the centre cut out:
                  // torchvision's Resize(256) + CenterCrop(224) is crop_fraction 0.875
  };
  Mode mode = Mode::stretch;
  double crop_fraction = 0.875;  // center_crop only: the share of the covering image kept
};

// Images are resized to height × width with `channels` channels (1: grayscale, 3: RGB), then each
// pixel value v (0..255) becomes (v * scale - mean[c]) / std[c].
struct InputSpec {
  int channels = 3;
  int height = 0;
  int width = 0;
  double scale = 1.0;
  std::vector<double> mean;  // one value per channel; empty: 0
  std::vector<double> std;   // one value per channel; empty: 1
  ImageFit train_fit;        // how training images reach the size (augmenters start from these)
  ImageFit eval_fit;         // how validation and test images do

  // Reads data.input: {size: [height, width] or a number, channels: 1|3, scale: s,
  // mean: [...] or "imagenet", std: [...] or "imagenet", fit: stretch|center_crop or
  // {train: ..., eval: ...}, crop_fraction: f}. One mean/std value applies to every channel.
  // "imagenet" is torchvision's (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) for pixels in [0, 1],
  // so it goes with scale 1/255. Throws tlr::Error ("data.input: error: ...") on bad values.
  static InputSpec from_params(const Params& input);

  // mean and std expanded to `channels` values. Throws tlr::Error on a length mismatch or std 0.
  std::vector<double> channel_mean() const;
  std::vector<double> channel_std() const;
};

}  // namespace tlr
