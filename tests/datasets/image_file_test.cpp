// tlr::read_image_rgb decodes JPEGs with libjpeg itself: the same pixels as cv::imread (EXIF
// orientation, reduced DCT scales, grayscale, progressive, CMYK) and libjpeg's messages located
// at the file they are about.
#include "tlr/image_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <string>
#include <vector>

#include "datasets/test_files.h"
#include "sdk/jpeg_decoder.h"
#include "support/expect_throw.h"
#include "tlr/error.h"

namespace tlr::testing {
namespace {

// cv::imread's RGB image at the reduced-decode rule read_image_rgb documents for `hint`.
cv::Mat imread_rgb(const std::string& path, const cv::Size& hint) {
  cv::Mat probe = cv::imread(path, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
  int flag = cv::IMREAD_COLOR;
  const int need = std::max(hint.width, hint.height);
  if (!hint.empty()) {
    for (int denom : {8, 4, 2}) {
      if ((probe.cols + denom - 1) / denom >= need && (probe.rows + denom - 1) / denom >= need) {
        flag = denom == 8   ? cv::IMREAD_REDUCED_COLOR_8
               : denom == 4 ? cv::IMREAD_REDUCED_COLOR_4
                            : cv::IMREAD_REDUCED_COLOR_2;
        break;
      }
    }
  }
  cv::Mat bgr = cv::imread(path, flag);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

::testing::AssertionResult same_pixels(const cv::Mat& a, const cv::Mat& b) {
  if (a.size() != b.size() || a.type() != b.type()) {
    return ::testing::AssertionFailure() << "size " << a.size() << " vs " << b.size() << ", type "
                                         << a.type() << " vs " << b.type();
  }
  const double differing = cv::norm(a, b, cv::NORM_L1);
  if (differing != 0) return ::testing::AssertionFailure() << "L1 distance " << differing;
  return ::testing::AssertionSuccess();
}

const std::vector<cv::Size> kHints = {cv::Size(), cv::Size(60, 60), cv::Size(150, 150),
                                      cv::Size(100, 250), cv::Size(500, 500)};

// The same EXIF block as jpeg_with_orientation, big-endian ("MM").
std::vector<unsigned char> big_endian_exif_jpeg(const cv::Mat& rgb, int orientation) {
  std::vector<unsigned char> jpeg = jpeg_with_orientation(rgb, 1);
  const std::size_t at = 2 + 4 + 6;  // after SOI, the APP1 marker and length, "Exif\0\0"
  const std::vector<unsigned char> tiff = {
      'M',  'M',  0x00, 0x2A, 0, 0, 0, 8, 0, 1,
      0x01, 0x12, 0,    3,    0, 0, 0, 1, 0, static_cast<unsigned char>(orientation),
      0,    0,    0,    0,    0, 0};
  std::copy(tiff.begin(), tiff.end(), jpeg.begin() + static_cast<std::ptrdiff_t>(at));
  return jpeg;
}

TEST(ImageFile, EveryExifOrientationAndScaleHasImreadsPixels) {
  TempDir dir;
  const cv::Mat rgb = photo(400, 300);
  for (int orientation = 0; orientation <= 9; ++orientation) {
    const std::string path = (dir / ("o" + std::to_string(orientation) + ".jpg")).string();
    write_bytes(path, jpeg_with_orientation(rgb, orientation));
    for (const cv::Size& hint : kHints) {
      EXPECT_TRUE(same_pixels(read_image_rgb(path, hint), imread_rgb(path, hint)))
          << "orientation " << orientation << ", hint " << hint;
    }
  }
  for (int orientation : {3, 6, 8}) {
    const std::string path = (dir / ("mm" + std::to_string(orientation) + ".jpg")).string();
    write_bytes(path, big_endian_exif_jpeg(rgb, orientation));
    const cv::Mat ours = read_image_rgb(path);
    EXPECT_EQ(ours.size(), orientation == 3 ? cv::Size(400, 300) : cv::Size(300, 400));
    EXPECT_TRUE(same_pixels(ours, imread_rgb(path, {}))) << "MM orientation " << orientation;
  }
}

TEST(ImageFile, GrayscaleProgressiveAndCmykJpegsHaveImreadsPixels) {
  TempDir dir;
  const cv::Mat bgr = [] {
    cv::Mat b;
    cv::cvtColor(photo(320, 240), b, cv::COLOR_RGB2BGR);
    return b;
  }();
  cv::Mat gray;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  ASSERT_TRUE(cv::imwrite((dir / "gray.jpg").string(), gray));
  ASSERT_TRUE(cv::imwrite((dir / "progressive.jpg").string(), bgr,
                          {cv::IMWRITE_JPEG_PROGRESSIVE, 1, cv::IMWRITE_JPEG_QUALITY, 80}));
  // PIL writes an Adobe CMYK JPEG (four components), which OpenCV converts to BGR itself.
  const std::string cmyk = (dir / "cmyk.jpg").string();
  const std::string script =
      "/usr/bin/python3 -c \"from PIL import Image; im = Image.new('CMYK', "
      "(200, 150), (10, 200, 30, 40)); im.paste((200, 20, 90, 5), "
      "(20, 20, 120, 90)); im.save('" +
      cmyk + "')\"";
  ASSERT_EQ(std::system(script.c_str()), 0) << script;
  for (const char* name : {"gray.jpg", "progressive.jpg", "cmyk.jpg"}) {
    const std::string path = (dir / name).string();
    for (const cv::Size& hint : kHints) {
      const cv::Mat ours = read_image_rgb(path, hint);
      EXPECT_EQ(ours.type(), CV_8UC3) << name;
      EXPECT_TRUE(same_pixels(ours, imread_rgb(path, hint))) << name << ", hint " << hint;
    }
  }
}

// The message libjpeg would print on stderr without a file name ("Corrupt JPEG data: 3
// extraneous bytes before marker 0xe0") is one warning line of the file, and the pixels are
// the ones cv::imread gives (libjpeg repairs the data the same way for both).
TEST(ImageFile, CorruptDataLibjpegRepairsIsAWarningOfTheFile) {
  TempDir dir;
  std::vector<unsigned char> jpeg = jpeg_with_orientation(photo(200, 160), 1);
  ASSERT_GE(jpeg.size(), 2u);
  // After SOI (2 bytes) and the EXIF segment (36), before the next marker (JFIF's APP0).
  jpeg.insert(jpeg.begin() + 38, {0x00, 0x11, 0x22});
  const std::string extra = (dir / "extra.jpg").string();
  write_bytes(extra, jpeg);
  {
    const ImageWarnings warnings;
    EXPECT_TRUE(same_pixels(read_image_rgb(extra), imread_rgb(extra, {})));
    EXPECT_EQ(
        warnings.lines(),
        (std::vector<std::string>{extra + ": warning: corrupt JPEG data: 3 extraneous bytes before "
                                          "marker 0xe0; decoded anyway"}));
  }

  // Truncated: libjpeg fills the missing rows with grey, as under cv::imread.
  std::vector<unsigned char> whole = jpeg_with_orientation(photo(200, 160), 1);
  whole.resize(whole.size() * 2 / 3);
  const std::string cut = (dir / "cut.jpg").string();
  write_bytes(cut, whole);
  const ImageWarnings warnings;
  EXPECT_TRUE(same_pixels(read_image_rgb(cut, cv::Size(50, 50)), imread_rgb(cut, {50, 50})));
  ASSERT_EQ(warnings.lines().size(), 1u);
  EXPECT_EQ(warnings.lines()[0], cut +
                                     ": warning: premature end of JPEG file; corrupt JPEG data: "
                                     "premature end of data segment; decoded anyway");
}

TEST(ImageFile, WarningsGoToTheInnermostCollectorOrElseToStderr) {
  ::testing::internal::CaptureStderr();
  warn_image("a.jpg", "nobody collects this");
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "a.jpg: warning: nobody collects this\n");
  const ImageWarnings outer;
  {
    const ImageWarnings inner;
    warn_image("b.jpg", "inner");
    EXPECT_EQ(inner.lines(), (std::vector<std::string>{"b.jpg: warning: inner"}));
  }
  warn_image("c.jpg", "outer");
  EXPECT_EQ(outer.lines(), (std::vector<std::string>{"c.jpg: warning: outer"}));
}

TEST(ImageFile, AnUndecodableFileSaysWhyAtItsPath) {
  TempDir dir;
  std::vector<unsigned char> jpeg = jpeg_with_orientation(photo(80, 60), 1);
  const unsigned char start_of_scan[] = {0xFF, 0xDA};
  jpeg.erase(
      std::search(jpeg.begin(), jpeg.end(), std::begin(start_of_scan), std::end(start_of_scan)),
      jpeg.end());
  const std::string no_scan = (dir / "no_scan.jpg").string();
  write_bytes(no_scan, jpeg);
  EXPECT_THROW_MSG(
      read_image_rgb(no_scan), DataError,
      no_scan + ": error: cannot decode image: invalid JPEG file structure: missing SOS marker");
  const std::string text = (dir / "text.jpg").string();
  write_text(text, "not an image at all");
  EXPECT_THROW_MSG(read_image_rgb(text), DataError, text + ": error: cannot decode image");
  const std::string missing = (dir / "missing.jpg").string();
  EXPECT_THROW_MSG(read_image_rgb(missing), DataError,
                   missing + ": error: cannot read file: no such file or directory");
}

// A frame header claiming more pixels than OpenCV's cap (2^30; libjpeg's own is 65500 a side) is
// refused before libjpeg allocates anything for it.
TEST(ImageFile, AHugeFrameHeaderIsRefusedBeforeAllocating) {
  std::vector<unsigned char> jpeg = jpeg_with_orientation(photo(16, 16), 1);
  const unsigned char frame[] = {0xFF, 0xC0};
  auto sof = std::search(jpeg.begin(), jpeg.end(), std::begin(frame), std::end(frame));
  ASSERT_NE(sof, jpeg.end());
  // marker (2), length (2), precision (1), height (2), width (2)
  sof[5] = 0x9C, sof[6] = 0x40, sof[7] = 0x9C, sof[8] = 0x40;  // 40000 x 40000
  const jpeg::Decoded d = jpeg::decode(jpeg.data(), jpeg.size(), cv::Size());
  EXPECT_TRUE(d.rgb.empty());
  EXPECT_EQ(d.error, "image of 40000x40000 pixels is too large");
}

TEST(ImageFile, ExifOrientationReadsOnlyWhatIsThere) {
  const std::vector<unsigned char> jpeg = jpeg_with_orientation(photo(8, 8), 6);
  const unsigned char* app1 = jpeg.data() + 2 + 4;  // the payload after marker and length
  EXPECT_EQ(jpeg::exif_orientation(app1, 32), 6);
  // Cut anywhere before the value: no orientation, and nothing read past the end.
  for (std::size_t size = 0; size < 6 + 8 + 2 + 10; ++size) {
    EXPECT_EQ(jpeg::exif_orientation(app1, size), 0) << size;
  }
  const unsigned char xmp[] = "http://ns.adobe.com/xap/1.0/";
  EXPECT_EQ(jpeg::exif_orientation(xmp, sizeof xmp), 0);
}

}  // namespace
}  // namespace tlr::testing
