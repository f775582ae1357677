#include "torchvision_transform.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <utility>
#include <vector>

namespace tlr {
namespace torchvision_style {
namespace {

// Python's round(): halves to even (the default floating-point rounding mode).
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

// torchvision's grayscale weights.
cv::Mat gray_of(const cv::Mat& rgb) {
  if (rgb.channels() == 1) return rgb;
  cv::Mat gray;
  cv::transform(rgb, gray, cv::Matx13f(0.2989f, 0.587f, 0.114f));
  return gray;
}

void clamp01(cv::Mat& m) {
  cv::max(m, 0.0, m);
  cv::min(m, 1.0, m);
}

void blend_with(cv::Mat& img, const cv::Mat& other, double factor) {
  cv::addWeighted(img, factor, other, 1 - factor, 0, img);
  clamp01(img);
}

void adjust(cv::Mat& img, int step, const Transform& t) {
  switch (step) {
    case 0:
      if (t.brightness != 1) {
        img *= t.brightness;
        clamp01(img);
      }
      break;
    case 1:
      if (t.contrast != 1) {
        const double mean = cv::mean(gray_of(img))[0];
        img = img * t.contrast + cv::Scalar::all(mean * (1 - t.contrast));
        clamp01(img);
      }
      break;
    case 2:
      if (t.saturation != 1 && img.channels() == 3) {
        cv::Mat gray3;
        cv::cvtColor(gray_of(img), gray3, cv::COLOR_GRAY2RGB);
        blend_with(img, gray3, t.saturation);
      }
      break;
    case 3:
      if (t.hue != 0 && img.channels() == 3) {
        cv::Mat hsv;
        cv::cvtColor(img, hsv, cv::COLOR_RGB2HSV);  // float: H in degrees [0, 360)
        const float shift = static_cast<float>(t.hue * 360.0);
        for (int r = 0; r < hsv.rows; ++r) {
          cv::Vec3f* row = hsv.ptr<cv::Vec3f>(r);
          for (int c = 0; c < hsv.cols; ++c) {
            float h = std::fmod(row[c][0] + shift, 360.0f);
            row[c][0] = h < 0 ? h + 360.0f : h;
          }
        }
        cv::cvtColor(hsv, img, cv::COLOR_HSV2RGB);
        clamp01(img);
      }
      break;
  }
}

}  // namespace

cv::Rect draw_crop(const Settings& s, int rows, int cols, std::mt19937_64& rng) {
  const double area = static_cast<double>(rows) * cols;
  const double log_lo = std::log(s.ratio_lo);
  const double log_hi = std::log(s.ratio_hi);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * uniform(rng, s.scale_lo, s.scale_hi);
    const double aspect = std::exp(uniform(rng, log_lo, log_hi));
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (w > 0 && w <= cols && h > 0 && h <= rows) {
      const int top = below(rng, rows - h + 1);
      const int left = below(rng, cols - w + 1);
      return cv::Rect(left, top, w, h);
    }
  }
  const double in_ratio = static_cast<double>(cols) / rows;
  int w = cols;
  int h = rows;
  if (in_ratio < s.ratio_lo) {
    h = round_half_even(w / s.ratio_lo);
  } else if (in_ratio > s.ratio_hi) {
    w = round_half_even(h * s.ratio_hi);
  }
  return cv::Rect((cols - w) / 2, (rows - h) / 2, w, h);
}

cv::Rect center_crop(const Settings& s, int rows, int cols) {
  if (s.resize <= 0 || s.crop <= 0) return cv::Rect();
  // Resize scales the shorter side to `resize`; the centre crop of `crop` pixels is then
  // crop / resize of the shorter side in the input's pixels.
  const double side = static_cast<double>(s.crop) / s.resize * std::min(rows, cols);
  const int w = std::clamp(round_half_even(side), 1, cols);
  const int h = std::clamp(round_half_even(side), 1, rows);
  return cv::Rect(round_half_even((cols - w) / 2.0), round_half_even((rows - h) / 2.0), w, h);
}

Transform draw(const Settings& s, int rows, int cols, std::mt19937_64& rng) {
  Transform t;
  if (s.eval) {
    t.crop = center_crop(s, rows, cols);
    return t;
  }
  if (s.random_resized_crop) t.crop = draw_crop(s, rows, cols, rng);
  t.flip_horizontal = uniform01(rng) < s.horizontal_flip;
  t.flip_vertical = uniform01(rng) < s.vertical_flip;
  for (int i = 3; i > 0; --i) std::swap(t.order[i], t.order[below(rng, i + 1)]);
  const double b = uniform01(rng);
  const double c = uniform01(rng);
  const double sa = uniform01(rng);
  const double h = uniform01(rng);
  auto factor = [](double range, double u) {
    const double lo = std::max(0.0, 1 - range);
    return range > 0 ? lo + (1 + range - lo) * u : 1.0;
  };
  t.brightness = factor(s.brightness, b);
  t.contrast = factor(s.contrast, c);
  t.saturation = factor(s.saturation, sa);
  t.hue = s.hue > 0 ? -s.hue + 2 * s.hue * h : 0.0;
  return t;
}

cv::Mat apply(const cv::Mat& image, const Transform& t) {
  cv::Mat out;
  const cv::Rect whole(0, 0, image.cols, image.rows);
  if (t.crop.area() > 0 && t.crop != whole) {
    cv::resize(image(t.crop & whole), out, image.size(), 0, 0, cv::INTER_LINEAR);
  } else {
    out = image.clone();
  }
  if (t.flip_horizontal && t.flip_vertical) {
    cv::flip(out, out, -1);
  } else if (t.flip_horizontal) {
    cv::flip(out, out, 1);
  } else if (t.flip_vertical) {
    cv::flip(out, out, 0);
  }
  const bool colour = t.brightness != 1 || t.contrast != 1 ||
                      (out.channels() == 3 && (t.saturation != 1 || t.hue != 0));
  if (!colour) return out;
  const bool is_byte = out.depth() == CV_8U;
  cv::Mat f;
  out.convertTo(f, CV_32F, is_byte ? 1.0 / 255 : 1.0);
  for (int step : t.order) adjust(f, step, t);
  f.convertTo(out, image.type(), is_byte ? 255.0 : 1.0);
  return out;
}

}  // namespace torchvision_style
}  // namespace tlr
