// keras_image: the affine maths against hand-computed matrices and pixels, the random draws, and
// the plugin as the runner builds it.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "augment/plugin_augmenter.h"
#include "keras_image/keras_transform.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr {
namespace keras_image {
namespace {

// n × n, one channel, pixel (r, c) = 10 r + c + 1: every value distinct.
cv::Mat known_image(int n) {
  cv::Mat m(n, n, CV_8UC1);
  for (int r = 0; r < n; ++r) {
    for (int c = 0; c < n; ++c)
      m.at<std::uint8_t>(r, c) = static_cast<std::uint8_t>(10 * r + c + 1);
  }
  return m;
}

int at(const cv::Mat& m, int r, int c) { return m.at<std::uint8_t>(r, c); }

void expect_matrix(const cv::Matx23d& actual, const cv::Matx23d& expected) {
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(actual(i, j), expected(i, j), 1e-12) << i << "," << j;
  }
}

TEST(KerasImage, HorizontalFlipMirrorsColumns) {
  const cv::Mat in = known_image(4);
  Transform t;
  t.flip_horizontal = true;
  const cv::Mat out = apply(in, t, Settings{});
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, r, c), at(in, r, 3 - c));
  }
}

TEST(KerasImage, VerticalFlipMirrorsRows) {
  const cv::Mat in = known_image(4);
  Transform t;
  t.flip_vertical = true;
  const cv::Mat out = apply(in, t, Settings{});
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, r, c), at(in, 3 - r, c));
  }
}

TEST(KerasImage, Rotation90MatrixAboutTheCentre) {
  // Keras's rotation [[cos, -sin], [sin, cos]] on (row, col) about (1.5, 1.5) maps output (r, c)
  // to input (3 - c, r); in OpenCV's (x, y) = (c, r): x_in = y, y_in = 3 - x.
  Transform t;
  t.theta = 90;
  expect_matrix(transform_for(t, 4, 4), cv::Matx23d(0, 1, 0, -1, 0, 3));
}

TEST(KerasImage, Rotation90MovesEveryPixel) {
  const cv::Mat in = known_image(4);
  Transform t;
  t.theta = 90;
  const cv::Mat out = apply(in, t, Settings{});
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, r, c), at(in, 3 - c, r)) << r << "," << c;
  }
}

TEST(KerasImage, ShearMatrix) {
  // Keras's shear [[1, -sin s], [0, cos s]] on (row, col) about (2, 2) of a 5 × 5 image.
  Transform t;
  t.shear = 30;
  const double s = std::sin(30 * M_PI / 180);
  const double c = std::cos(30 * M_PI / 180);
  expect_matrix(transform_for(t, 5, 5), cv::Matx23d(c, 0, 2 - 2 * c, -s, 1, 2 * s));
}

TEST(KerasImage, ShiftAlongColumnsWithNearestFill) {
  // ty (from width_shift_range) = 1: output (r, c) samples input (r, c + 1); the last column
  // repeats the edge.
  const cv::Mat in = known_image(4);
  Transform t;
  t.ty = 1;
  expect_matrix(transform_for(t, 4, 4), cv::Matx23d(1, 0, 1, 0, 1, 0));
  const cv::Mat out = apply(in, t, Settings{});
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, r, c), at(in, r, std::min(c + 1, 3)));
  }
}

TEST(KerasImage, ShiftAlongRowsFromHeightShift) {
  const cv::Mat in = known_image(4);
  Transform t;
  t.tx = -1;  // output (r, c) samples input (r - 1, c)
  const cv::Mat out = apply(in, t, Settings{});
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) EXPECT_EQ(at(out, r, c), at(in, std::max(r - 1, 0), c));
  }
}

TEST(KerasImage, ConstantFillUsesCval) {
  const cv::Mat in = known_image(4);
  Transform t;
  t.ty = 1;
  Settings s;
  s.fill_mode = FillMode::constant;
  s.cval = 7;
  const cv::Mat out = apply(in, t, s);
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(at(out, r, c), at(in, r, c + 1));
    EXPECT_EQ(at(out, r, 3), 7);
  }
}

TEST(KerasImage, ConstantFillOfFloatImagesIsInPixelUnits) {
  cv::Mat in;
  known_image(4).convertTo(in, CV_32F, 1.0 / 255);
  Transform t;
  t.ty = 1;
  Settings s;
  s.fill_mode = FillMode::constant;
  s.cval = 51;
  const cv::Mat out = apply(in, t, s);
  EXPECT_FLOAT_EQ(out.at<float>(0, 3), 0.2f);
}

TEST(KerasImage, WrapFillTakesTheOppositeEdge) {
  // Shift by 2: columns 2 and 3 sample input columns 4 and 5, which wrap to 0 and 1.
  const cv::Mat in = known_image(4);
  Transform t;
  t.ty = 2;
  Settings s;
  s.fill_mode = FillMode::wrap;
  const cv::Mat out = apply(in, t, s);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(at(out, r, 0), at(in, r, 2));
    EXPECT_EQ(at(out, r, 1), at(in, r, 3));
    EXPECT_EQ(at(out, r, 2), at(in, r, 0));
    EXPECT_EQ(at(out, r, 3), at(in, r, 1));
  }
}

TEST(KerasImage, ReflectFillMirrorsIncludingTheEdgePixel) {
  // scipy 'reflect' (d c b a | a b c d): input columns 4 and 5 are 3 and 2.
  const cv::Mat in = known_image(4);
  Transform t;
  t.ty = 2;
  Settings s;
  s.fill_mode = FillMode::reflect;
  const cv::Mat out = apply(in, t, s);
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(at(out, r, 2), at(in, r, 3));
    EXPECT_EQ(at(out, r, 3), at(in, r, 2));
  }
}

TEST(KerasImage, ZoomAboveOneShowsASmallerImage) {
  // zx = zy = 2 about (2, 2) of 5 × 5: output (r, c) samples input (2r - 2, 2c - 2).
  const cv::Mat in = known_image(5);
  Transform t;
  t.zx = 2;
  t.zy = 2;
  expect_matrix(transform_for(t, 5, 5), cv::Matx23d(2, 0, -2, 0, 2, -2));
  const cv::Mat out = apply(in, t, Settings{});
  EXPECT_EQ(at(out, 1, 1), at(in, 0, 0));
  EXPECT_EQ(at(out, 2, 2), at(in, 2, 2));
  EXPECT_EQ(at(out, 3, 3), at(in, 4, 4));
  EXPECT_EQ(at(out, 1, 3), at(in, 0, 4));
  EXPECT_EQ(at(out, 0, 0), at(in, 0, 0));  // (-2, -2): nearest fill
}

TEST(KerasImage, ZoomXScalesRowsOnly) {
  const cv::Mat in = known_image(5);
  Transform t;
  t.zx = 2;
  const cv::Mat out = apply(in, t, Settings{});
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 5; ++c) {
      EXPECT_EQ(at(out, r, c), at(in, std::clamp(2 * r - 2, 0, 4), c)) << r << "," << c;
    }
  }
}

TEST(KerasImage, ZoomBelowOneInterpolates) {
  // zoom 0.5 about (2, 2): output (1, 1) samples (1.5, 1.5), the mean of four pixels.
  cv::Mat in;
  known_image(5).convertTo(in, CV_32F);
  Transform t;
  t.zx = 0.5;
  t.zy = 0.5;
  const cv::Mat out = apply(in, t, Settings{});
  EXPECT_NEAR(out.at<float>(1, 1), (12 + 13 + 22 + 23) / 4.0, 1e-3);
  EXPECT_NEAR(out.at<float>(2, 2), 23, 1e-4);
}

TEST(KerasImage, BrightnessScalesAndSaturates) {
  const cv::Mat in = known_image(4);
  Transform t;
  t.brightness = 10;
  const cv::Mat out = apply(in, t, Settings{});
  EXPECT_EQ(at(out, 0, 0), 10);
  EXPECT_EQ(at(out, 3, 3), 255);
}

TEST(KerasImage, DrawTakesNineUniformsInOrder) {
  Settings s;
  s.rotation_range = 50;
  s.width_shift_range = 0.2;  // fraction of 8 columns
  s.height_shift_range = 3;   // pixels
  s.shear_range = 0.2;
  s.zoom_lo = 0.7;
  s.zoom_hi = 1.3;
  s.horizontal_flip = true;
  s.brightness_lo = 0.5;
  s.brightness_hi = 1.5;
  std::mt19937_64 rng(123);
  std::mt19937_64 copy(123);
  double u[9];
  for (double& v : u) v = static_cast<double>(copy() >> 11) / 9007199254740992.0;
  const Transform t = draw(s, 4, 8, rng);
  EXPECT_DOUBLE_EQ(t.theta, -50 + 100 * u[0]);
  EXPECT_DOUBLE_EQ(t.tx, -3 + 6 * u[1]);
  EXPECT_DOUBLE_EQ(t.ty, (-0.2 + 0.4 * u[2]) * 8);
  EXPECT_DOUBLE_EQ(t.shear, -0.2 + 0.4 * u[3]);
  EXPECT_DOUBLE_EQ(t.zx, 0.7 + 0.6 * u[4]);
  EXPECT_DOUBLE_EQ(t.zy, 0.7 + 0.6 * u[5]);
  EXPECT_EQ(t.flip_horizontal, u[6] < 0.5);
  EXPECT_FALSE(t.flip_vertical);
  EXPECT_DOUBLE_EQ(t.brightness, 0.5 + u[8]);
  EXPECT_EQ(rng(), copy());  // exactly nine numbers consumed
}

TEST(KerasImage, DrawStaysInRangeAndFlipsAboutHalfTheTime) {
  Settings s;
  s.rotation_range = 90;
  s.horizontal_flip = true;
  std::mt19937_64 rng(7);
  int flips = 0;
  for (int i = 0; i < 2000; ++i) {
    const Transform t = draw(s, 10, 10, rng);
    ASSERT_GE(t.theta, -90);
    ASSERT_LT(t.theta, 90);
    EXPECT_EQ(t.zx, 1);
    flips += t.flip_horizontal;
  }
  EXPECT_NEAR(flips, 1000, 120);
}

TEST(KerasImage, DisabledStepsGiveTheIdentity) {
  std::mt19937_64 rng(1);
  const Transform t = draw(Settings{}, 4, 4, rng);
  EXPECT_TRUE(is_identity(t));
  EXPECT_FALSE(t.flip_horizontal);
  EXPECT_EQ(t.brightness, 1);
}

// --- the plugin, as the runner builds it ---

constexpr const char* kSeed000 =
    R"({"rotation_range": 50, "width_shift_range": 0.2, "height_shift_range": 0.2,
        "shear_range": 0.2, "zoom_range": 0.3, "horizontal_flip": true, "fill_mode": "nearest"})";

cv::Mat noise_image(int rows, int cols) {
  cv::Mat m(rows, cols, CV_8UC3);
  cv::RNG rng(5);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  return m;
}

TEST(KerasImagePlugin, SameRngSameOutputOtherSeedOtherOutput) {
  auto augmenter = testing::make_plugin_augmenter("keras_image", kSeed000);
  const cv::Mat in = noise_image(30, 40);
  std::mt19937_64 a(99), b(99), c(100);
  const cv::Mat first = augmenter->apply(in, a);
  const cv::Mat again = augmenter->apply(in, b);
  const cv::Mat other = augmenter->apply(in, c);
  EXPECT_EQ(first.size(), in.size());
  EXPECT_EQ(first.type(), in.type());
  EXPECT_EQ(cv::norm(first, again, cv::NORM_INF), 0);
  EXPECT_GT(cv::norm(first, other, cv::NORM_INF), 0);
}

TEST(KerasImagePlugin, MatchesTheDocumentedDraw) {
  auto augmenter = testing::make_plugin_augmenter("keras_image", kSeed000);
  const cv::Mat in = noise_image(30, 40);
  Settings s;
  s.rotation_range = 50;
  s.width_shift_range = 0.2;
  s.height_shift_range = 0.2;
  s.shear_range = 0.2;
  s.zoom_lo = 0.7;
  s.zoom_hi = 1.3;
  s.horizontal_flip = true;
  std::mt19937_64 a(42), b(42);
  const cv::Mat expected = apply(in, draw(s, 30, 40, b), s);
  EXPECT_EQ(cv::norm(augmenter->apply(in, a), expected, cv::NORM_INF), 0);
}

TEST(KerasImagePlugin, ZoomPairIsUsedAsGiven) {
  auto augmenter = testing::make_plugin_augmenter("keras_image", R"({"zoom_range": [2, 2]})");
  const cv::Mat in = known_image(5);
  std::mt19937_64 rng(1);
  const cv::Mat out = augmenter->apply(in, rng);
  EXPECT_EQ(at(out, 1, 1), at(in, 0, 0));
  EXPECT_EQ(at(out, 3, 3), at(in, 4, 4));
}

TEST(KerasImagePlugin, RejectsRescaleAndPointsToDataInputScale) {
  EXPECT_THROW_MSG(
      testing::make_plugin_augmenter("keras_image", R"({"rescale": 0.00392156862745098})"), Error,
      "augmenter keras_image: error: 'rescale' is not an augmenter parameter; pixel "
      "scaling is done by the loader: set data.input.scale instead (e.g. "
      "0.00392156862745098 for 1/255)");
}

TEST(KerasImagePlugin, SchemaRejectsAnUnknownFillMode) {
  EXPECT_EQ(testing::schema_problems(testing::plugin_registry("tlr_augmenter_keras_image"),
                                     Kind::augmenter, "keras_image", R"({"fill_mode": "mirror"})"),
            std::vector<std::string>{
                "'fill_mode' must be one of nearest, constant, reflect, wrap; got 'mirror'"});
}

TEST(KerasImagePlugin, SchemaDescribesEveryParameter) {
  const ComponentInfo* info =
      testing::plugin_registry("tlr_augmenter_keras_image").find(Kind::augmenter, "keras_image");
  ASSERT_NE(info, nullptr);
  for (const char* key :
       {"rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range",
        "horizontal_flip", "vertical_flip", "fill_mode", "cval", "brightness_range", "rescale"}) {
    EXPECT_NE(info->schema.find(std::string("\"") + key + "\""), std::string::npos) << key;
  }
  EXPECT_NE(info->schema.find("data.input.scale"), std::string::npos);
  const auto schema = nlohmann::json::parse(info->schema);
  EXPECT_EQ(schema["properties"]["width_shift_range"]["description"],
            "horizontal shift drawn from [-s, s]: a fraction of the width when below 1, pixels "
            "otherwise");
}

}  // namespace
}  // namespace keras_image
}  // namespace tlr
