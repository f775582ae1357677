#include "keras_transform.h"

#include <cmath>
#include <opencv2/imgproc.hpp>

namespace tlr {
namespace keras_image {
namespace {

constexpr double kPi = 3.14159265358979323846;

cv::Matx33d rows_cols(double a, double b, double e, double c, double d, double f) {
  return cv::Matx33d(a, b, e, c, d, f, 0, 0, 1);
}

int border_of(FillMode mode) {
  switch (mode) {
    case FillMode::nearest:
      return cv::BORDER_REPLICATE;
    case FillMode::constant:
      return cv::BORDER_CONSTANT;
    case FillMode::reflect:
      return cv::BORDER_REFLECT;
    case FillMode::wrap:
      return cv::BORDER_WRAP;
  }
  return cv::BORDER_REPLICATE;
}

}  // namespace

Transform draw(const Settings& s, int rows, int cols, std::mt19937_64& rng) {
  // Nine draws, always, in the documented order.
  double u[9];
  for (double& v : u) v = uniform01(rng);
  auto symmetric = [](double range, double unit) { return -range + 2 * range * unit; };

  Transform t;
  t.theta = symmetric(s.rotation_range, u[0]);
  // Keras: tx comes from height_shift_range and moves rows, ty from width_shift_range (columns);
  // ranges below 1 are fractions of the image size, larger ones pixels.
  t.tx = symmetric(s.height_shift_range, u[1]);
  if (s.height_shift_range < 1) t.tx *= rows;
  t.ty = symmetric(s.width_shift_range, u[2]);
  if (s.width_shift_range < 1) t.ty *= cols;
  t.shear = symmetric(s.shear_range, u[3]);
  if (!(s.zoom_lo == 1 && s.zoom_hi == 1)) {
    t.zx = s.zoom_lo + (s.zoom_hi - s.zoom_lo) * u[4];
    t.zy = s.zoom_lo + (s.zoom_hi - s.zoom_lo) * u[5];
  }
  t.flip_horizontal = s.horizontal_flip && u[6] < 0.5;
  t.flip_vertical = s.vertical_flip && u[7] < 0.5;
  if (!(s.brightness_lo == 1 && s.brightness_hi == 1)) {
    t.brightness = s.brightness_lo + (s.brightness_hi - s.brightness_lo) * u[8];
  }
  return t;
}

cv::Matx23d transform_for(const Transform& t, int rows, int cols) {
  // Keras builds the matrix in (row, column) coordinates; it maps output to input positions
  // (scipy.ndimage.affine_transform), which is what WARP_INVERSE_MAP wants.
  const double theta = t.theta * kPi / 180;
  const double shear = t.shear * kPi / 180;
  const cv::Matx33d rotation =
      rows_cols(std::cos(theta), -std::sin(theta), 0, std::sin(theta), std::cos(theta), 0);
  const cv::Matx33d shift = rows_cols(1, 0, t.tx, 0, 1, t.ty);
  const cv::Matx33d shearing = rows_cols(1, -std::sin(shear), 0, 0, std::cos(shear), 0);
  const cv::Matx33d zoom = rows_cols(t.zx, 0, 0, 0, t.zy, 0);
  const double o_r = rows / 2.0 - 0.5;
  const double o_c = cols / 2.0 - 0.5;
  const cv::Matx33d offset = rows_cols(1, 0, o_r, 0, 1, o_c);
  const cv::Matx33d reset = rows_cols(1, 0, -o_r, 0, 1, -o_c);
  const cv::Matx33d m = offset * rotation * shift * shearing * zoom * reset;
  // Swap the axes: OpenCV's matrix works on (x = column, y = row).
  return cv::Matx23d(m(1, 1), m(1, 0), m(1, 2),  //
                     m(0, 1), m(0, 0), m(0, 2));
}

bool is_identity(const Transform& t) {
  return t.theta == 0 && t.tx == 0 && t.ty == 0 && t.shear == 0 && t.zx == 1 && t.zy == 1;
}

cv::Mat apply(const cv::Mat& image, const Transform& t, const Settings& s) {
  const bool is_float = image.depth() == CV_32F;
  cv::Mat out;
  if (is_identity(t)) {
    out = image.clone();
  } else {
    const int interpolation =
        s.interpolation == Interpolation::nearest ? cv::INTER_NEAREST : cv::INTER_LINEAR;
    const double fill = is_float ? s.cval / 255.0 : s.cval;
    cv::warpAffine(image, out, cv::Mat(transform_for(t, image.rows, image.cols)), image.size(),
                   interpolation | cv::WARP_INVERSE_MAP, border_of(s.fill_mode),
                   cv::Scalar::all(fill));
  }
  if (t.flip_horizontal && t.flip_vertical) {
    cv::flip(out, out, -1);
  } else if (t.flip_horizontal) {
    cv::flip(out, out, 1);
  } else if (t.flip_vertical) {
    cv::flip(out, out, 0);
  }
  if (t.brightness != 1) {
    out.convertTo(out, -1, t.brightness);  // saturates 8-bit pixels at 255
    if (is_float) out = cv::min(out, 1.0);
  }
  return out;
}

}  // namespace keras_image
}  // namespace tlr
