// The maths of the torchvision_style augmenter, apart from its plugin entry point so that tests can
// pin it: RandomResizedCrop, RandomHorizontalFlip / RandomVerticalFlip and ColorJitter as
// torchvision 0.14 defines them, and the eval transform Resize + CenterCrop, with the random draws
// defined here instead of torch's.
#pragma once

#include <array>
#include <opencv2/core.hpp>
#include <random>

namespace tlr {
namespace torchvision_style {

struct Settings {
  bool random_resized_crop = true;  // crop a random area and aspect ratio, resize back
  double scale_lo = 0.08;           // fraction of the image area
  double scale_hi = 1.0;
  double ratio_lo = 3.0 / 4.0;  // width / height
  double ratio_hi = 4.0 / 3.0;
  double horizontal_flip = 0.5;  // probability
  double vertical_flip = 0.0;    // probability
  double brightness = 0;         // factor ~ U(max(0, 1 - b), 1 + b)
  double contrast = 0;           // factor ~ U(max(0, 1 - c), 1 + c)
  double saturation = 0;         // factor ~ U(max(0, 1 - s), 1 + s)
  double hue = 0;                // shift ~ U(-h, h) of a turn, h <= 0.5
  // Eval transform Resize(resize) + CenterCrop(crop): keeps the central crop/resize of the shorter
  // side and resizes it back to the input size. Applied in eval mode only; 0: off.
  int resize = 0;
  int crop = 0;
  bool eval = false;  // eval mode: only the centre crop, no randomness
};

// One random draw.
struct Transform {
  cv::Rect crop;  // the region kept (x, y, width, height); empty: the whole image
  bool flip_horizontal = false;
  bool flip_vertical = false;
  std::array<int, 4> order = {0, 1, 2, 3};  // colour steps: 0 brightness, 1 contrast,
                                            // 2 saturation, 3 hue
  double brightness = 1;
  double contrast = 1;
  double saturation = 1;
  double hue = 0;
};

// A double uniform in [0, 1) from the top 53 bits of one rng output (the same with every
// standard library, unlike std::uniform_real_distribution).
inline double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}
inline double uniform(std::mt19937_64& rng, double a, double b) {
  return a + (b - a) * uniform01(rng);
}
// An integer in [0, n) as floor(uniform01 * n); n > 0.
inline int below(std::mt19937_64& rng, int n) {
  const int v = static_cast<int>(uniform01(rng) * n);
  return v < n ? v : n - 1;
}

// The crop torchvision's RandomResizedCrop.get_params picks for a rows × cols image: up to ten
// attempts of (area ~ U(scale), log ratio ~ U(log ratio)) with two draws each, plus two draws
// (top, left) for the accepted one; when none fits, the centre crop clamped to the ratio range.
cv::Rect draw_crop(const Settings& settings, int rows, int cols, std::mt19937_64& rng);

// The region Resize(resize) + CenterCrop(crop) keeps of a rows × cols image.
cv::Rect center_crop(const Settings& settings, int rows, int cols);

// Draws in this order: the crop (when random_resized_crop is on), horizontal flip, vertical flip,
// the colour step order (a Fisher–Yates shuffle of 4, three draws), brightness, contrast,
// saturation, hue (one draw each, always). Eval mode draws nothing.
Transform draw(const Settings& settings, int rows, int cols, std::mt19937_64& rng);

// Applies `transform` to a CV_8U or CV_32F image (1 or 3 channels, RGB; float holds [0, 1]):
// crop and bilinear resize back to the input size, flips, then the colour steps in `order`
// (each clamped, as torchvision does on tensors). Same size and type as the input.
cv::Mat apply(const cv::Mat& image, const Transform& transform);

}  // namespace torchvision_style
}  // namespace tlr
