// The maths of the keras_image augmenter, apart from its plugin entry point so that tests can pin
// it: Keras ImageDataGenerator's random transform (keras_preprocessing 1.1 get_random_transform +
// apply_transform), with the random draws defined here instead of numpy's.
#pragma once

#include <opencv2/core.hpp>
#include <random>

namespace tlr {
namespace keras_image {

// How pixels outside the input are filled (scipy.ndimage modes as Keras names them).
enum class FillMode {
  nearest,   // aaaa|abcd|dddd   cv::BORDER_REPLICATE
  constant,  // kkkk|abcd|kkkk   cv::BORDER_CONSTANT with cval
  reflect,   // dcba|abcd|dcba   cv::BORDER_REFLECT (scipy 'reflect', edge pixel repeated)
  wrap,      // abcd|abcd|abcd   cv::BORDER_WRAP
};

enum class Interpolation { bilinear, nearest };

// The augmenter's parameters; each zero or false turns its step off.
struct Settings {
  double rotation_range = 0;      // degrees: theta ~ U(-r, r)
  double width_shift_range = 0;   // < 1: fraction of the width; >= 1: pixels
  double height_shift_range = 0;  // < 1: fraction of the height; >= 1: pixels
  double shear_range = 0;         // degrees (Keras 2.x): shear ~ U(-s, s)
  double zoom_lo = 1;             // zx and zy ~ U(zoom_lo, zoom_hi), drawn independently;
  double zoom_hi = 1;             // > 1 shows a smaller image, as in Keras
  bool horizontal_flip = false;   // each flip with probability 1/2
  bool vertical_flip = false;
  double brightness_lo = 1;  // pixel values times b ~ U(lo, hi), clipped; [1, 1] is off
  double brightness_hi = 1;
  FillMode fill_mode = FillMode::nearest;
  double cval = 0;  // constant fill, in 0..255 pixel units (Keras augments before rescaling)
  Interpolation interpolation = Interpolation::bilinear;
};

// One random draw, in Keras's names and units: the output of get_random_transform.
struct Transform {
  double theta = 0;  // rotation, degrees
  double tx = 0;     // shift along rows (from height_shift_range), pixels
  double ty = 0;     // shift along columns (from width_shift_range), pixels
  double shear = 0;  // degrees
  double zx = 1;     // zoom along rows
  double zy = 1;     // zoom along columns
  bool flip_horizontal = false;
  bool flip_vertical = false;
  double brightness = 1;
};

// A double uniform in [0, 1) from the top 53 bits of one rng output. Unlike
// std::uniform_real_distribution its result is the same with every standard library.
inline double uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}
// a + (b - a) * uniform01.
inline double uniform(std::mt19937_64& rng, double a, double b) {
  return a + (b - a) * uniform01(rng);
}

// Draws one transform for an image of rows × cols. Always takes exactly nine numbers from `rng`,
// in this order, whether or not a step is enabled (so the stream does not depend on the
// settings): theta, tx, ty, shear, zx, zy, horizontal flip, vertical flip, brightness.
Transform draw(const Settings& settings, int rows, int cols, std::mt19937_64& rng);

// The 2×3 matrix for cv::warpAffine with cv::WARP_INVERSE_MAP: it maps an output pixel
// (x = column, y = row) to the input position it samples. Keras's rotation · shift · shear · zoom
// about the image centre ((cols - 1) / 2, (rows - 1) / 2). The flips are not part of it.
cv::Matx23d transform_for(const Transform& transform, int rows, int cols);

// True when transform_for() is the identity (the warp can be skipped).
bool is_identity(const Transform& transform);

// Applies `transform` to a CV_8U or CV_32F image (1 or 3 channels; float images hold [0, 1]):
// one warpAffine, then the flips, then brightness. Returns a new image of the same size and type.
cv::Mat apply(const cv::Mat& image, const Transform& transform, const Settings& settings);

}  // namespace keras_image
}  // namespace tlr
