// torchvision_style: crops, flips and colour steps against hand-computed values; the plugin as the
// runner builds it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "augment/plugin_augmenter.h"
#include "support/expect_throw.h"
#include "tlr/error.h"
#include "torchvision_style/torchvision_transform.h"

namespace tlr {
namespace torchvision_style {
namespace {

cv::Mat known_rgb(int rows, int cols) {
  cv::Mat m(rows, cols, CV_8UC3);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) m.at<cv::Vec3b>(r, c) = cv::Vec3b(10 * r + c, 100, 200 - c);
  }
  return m;
}

TEST(TorchvisionStyle, FullAreaSquareCropIsTheWholeImage) {
  Settings s;
  s.scale_lo = s.scale_hi = 1;
  s.ratio_lo = s.ratio_hi = 1;
  std::mt19937_64 rng(3), copy(3);
  EXPECT_EQ(draw_crop(s, 8, 8, rng), cv::Rect(0, 0, 8, 8));
  for (int i = 0; i < 4; ++i) copy();  // area, ratio, top, left
  EXPECT_EQ(rng(), copy());
}

TEST(TorchvisionStyle, CropFallsBackToTheCentreWhenNothingFits) {
  // Ratio 4 never fits a full-area crop of 8 × 8: the fallback keeps the width and takes
  // height round(8 / 4) = 2, centred.
  Settings s;
  s.scale_lo = s.scale_hi = 1;
  s.ratio_lo = s.ratio_hi = 4;
  std::mt19937_64 rng(3);
  EXPECT_EQ(draw_crop(s, 8, 8, rng), cv::Rect(0, 3, 8, 2));
}

TEST(TorchvisionStyle, CropsStayInsideAndFollowTheRanges) {
  Settings s;
  std::mt19937_64 rng(11);
  for (int i = 0; i < 1000; ++i) {
    const cv::Rect r = draw_crop(s, 150, 200, rng);
    ASSERT_TRUE((r & cv::Rect(0, 0, 200, 150)) == r) << r;
    ASSERT_GT(r.area(), 0);
  }
}

TEST(TorchvisionStyle, CentreCropKeepsCropOverResizeOfTheShorterSide) {
  Settings s;
  s.resize = 8;
  s.crop = 4;
  EXPECT_EQ(center_crop(s, 8, 8), cv::Rect(2, 2, 4, 4));
  s.resize = 256;
  s.crop = 224;
  EXPECT_EQ(center_crop(s, 256, 256), cv::Rect(16, 16, 224, 224));
}

TEST(TorchvisionStyle, EvalModeDrawsNothingAndCropsTheCentre) {
  Settings s;
  s.eval = true;
  s.resize = 8;
  s.crop = 4;
  std::mt19937_64 rng(5), copy(5);
  const Transform t = draw(s, 8, 8, rng);
  EXPECT_EQ(rng(), copy());
  EXPECT_EQ(t.crop, cv::Rect(2, 2, 4, 4));
  EXPECT_FALSE(t.flip_horizontal);
  // A 4 × 4 centre blown up to 8 × 8: the top-left output pixel is (close to) input (2, 2).
  const cv::Mat in = known_rgb(8, 8);
  const cv::Mat out = apply(in, t);
  EXPECT_EQ(out.size(), in.size());
  EXPECT_NEAR(out.at<cv::Vec3b>(0, 0)[0], in.at<cv::Vec3b>(2, 2)[0], 1);
}

TEST(TorchvisionStyle, HorizontalFlipMirrorsColumns) {
  const cv::Mat in = known_rgb(3, 5);
  Transform t;
  t.flip_horizontal = true;
  const cv::Mat out = apply(in, t);
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 5; ++c) EXPECT_EQ(out.at<cv::Vec3b>(r, c), in.at<cv::Vec3b>(r, 4 - c));
  }
}

TEST(TorchvisionStyle, BrightnessScales) {
  const cv::Mat in(2, 2, CV_8UC3, cv::Scalar(100, 50, 250));
  Transform t;
  t.brightness = 0.5;
  const cv::Mat out = apply(in, t);
  EXPECT_EQ(out.at<cv::Vec3b>(1, 1), cv::Vec3b(50, 25, 125));
}

TEST(TorchvisionStyle, ZeroContrastGivesTheMeanGray) {
  cv::Mat in(1, 2, CV_8UC3);
  in.at<cv::Vec3b>(0, 0) = cv::Vec3b(255, 255, 255);
  in.at<cv::Vec3b>(0, 1) = cv::Vec3b(0, 0, 0);
  Transform t;
  t.contrast = 0;
  const cv::Mat out = apply(in, t);
  // mean gray = (0.2989 + 0.587 + 0.114) / 2 = 0.49995 of 255 = 127.49 -> 127.
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(127, 127, 127));
  EXPECT_EQ(out.at<cv::Vec3b>(0, 1), cv::Vec3b(127, 127, 127));
}

TEST(TorchvisionStyle, ZeroSaturationGivesGray) {
  const cv::Mat in(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));  // pure red
  Transform t;
  t.saturation = 0;
  const cv::Mat out = apply(in, t);
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(76, 76, 76));  // 0.2989 * 255 = 76.2
}

TEST(TorchvisionStyle, HalfTurnOfHueMakesRedCyan) {
  const cv::Mat in(1, 1, CV_8UC3, cv::Scalar(255, 0, 0));
  Transform t;
  t.hue = 0.5;
  const cv::Mat out = apply(in, t);
  EXPECT_EQ(out.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 255, 255));
}

TEST(TorchvisionStyle, JitterFactorsFollowTheRanges) {
  Settings s;
  s.random_resized_crop = false;
  s.horizontal_flip = 0;
  s.brightness = 0.4;
  s.contrast = 2;  // lower bound clamps at 0
  s.hue = 0.1;
  std::mt19937_64 rng(8), copy(8);
  const Transform t = draw(s, 4, 4, rng);
  double u[9];
  for (double& v : u) v = static_cast<double>(copy() >> 11) / 9007199254740992.0;
  // u[0], u[1]: flips; u[2..4]: step order; then brightness, contrast, saturation, hue.
  EXPECT_DOUBLE_EQ(t.brightness, 0.6 + 0.8 * u[5]);
  EXPECT_DOUBLE_EQ(t.contrast, 3 * u[6]);
  EXPECT_EQ(t.saturation, 1);
  EXPECT_DOUBLE_EQ(t.hue, -0.1 + 0.2 * u[8]);
  std::array<int, 4> sorted = t.order;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::array<int, 4>{0, 1, 2, 3}));
}

TEST(TorchvisionStylePlugin, DefaultsCropAndFlipDeterministically) {
  auto augmenter = testing::make_plugin_augmenter("torchvision_style", "{}");
  const cv::Mat in = known_rgb(20, 30);
  std::mt19937_64 a(1), b(1);
  const cv::Mat x = augmenter->apply(in, a);
  EXPECT_EQ(x.size(), in.size());
  EXPECT_EQ(x.type(), in.type());
  EXPECT_EQ(cv::norm(x, augmenter->apply(in, b), cv::NORM_INF), 0);
}

TEST(TorchvisionStylePlugin, RandomResizedCropCanBeTurnedOff) {
  auto augmenter = testing::make_plugin_augmenter(
      "torchvision_style", R"({"random_resized_crop": false, "horizontal_flip": 0})");
  const cv::Mat in = known_rgb(20, 30);
  std::mt19937_64 rng(1);
  EXPECT_EQ(cv::norm(augmenter->apply(in, rng), in, cv::NORM_INF), 0);
}

TEST(TorchvisionStylePlugin, SchemaIsJsonAndNamesTheLoaderNormalisation) {
  const ComponentInfo* info = testing::plugin_registry("tlr_augmenter_torchvision_style")
                                  .find(Kind::augmenter, "torchvision_style");
  ASSERT_NE(info, nullptr);
  const auto schema = nlohmann::json::parse(info->schema);
  EXPECT_NE(schema["description"].get<std::string>().find("mean: imagenet"), std::string::npos);
  EXPECT_EQ(schema["properties"]["random_resized_crop"]["default"]["scale"][0], 0.08);
}

TEST(TorchvisionStylePlugin, RejectsNormalisationAndPointsToDataInput) {
  EXPECT_THROW_MSG(
      testing::make_plugin_augmenter("torchvision_style", R"({"normalize": "imagenet"})"),
      ParamError,
      "augmenter torchvision_style: error: normalisation is not an augmenter "
      "parameter; the loader normalises every split: set data.input.mean and "
      "data.input.std (or both to imagenet)");
}

}  // namespace
}  // namespace torchvision_style
}  // namespace tlr
