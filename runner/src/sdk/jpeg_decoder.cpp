#include "sdk/jpeg_decoder.h"

// jpeglib.h needs size_t and FILE declared first.
#include <cstdio>
// clang-format off
#include <jpeglib.h>
// clang-format on

#include <algorithm>
#include <csetjmp>
#include <cstdlib>
#include <opencv2/core.hpp>

namespace tlr::jpeg {
namespace {

// cv::imread refuses images above OPENCV_IO_MAX_IMAGE_PIXELS pixels (default 2^30); so does the
// decoder, before libjpeg allocates anything of that size.
std::uint64_t max_pixels() {
  static const std::uint64_t limit = [] {
    const char* text = std::getenv("OPENCV_IO_MAX_IMAGE_PIXELS");
    char* end = nullptr;
    const unsigned long long v = text != nullptr ? std::strtoull(text, &end, 10) : 0;
    return text != nullptr && end != text && *end == '\0' && v > 0 ? v : 1ULL << 30;
  }();
  return limit;
}
// A damaged file can make libjpeg repeat one warning per block; the rest are counted, not kept.
constexpr std::size_t kMaxWarnings = 8;

struct Decoder;

// libjpeg's error manager with the jump target of a fatal error. `pub` comes first: libjpeg
// hands back a pointer to it, which is cast to the whole.
struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  Decoder* decoder;
};

// Everything one decode touches. It is created before setjmp() and outlives the longjmp() of a
// fatal error, so that the jump skips no destructor (which would be undefined behaviour).
struct Decoder {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  Decoded result;
  bool created = false;
  bool all_rows = false;  // every scanline was read: a later fatal error spoils nothing
  int orientation = 0;    // read with the header: saved markers are freed with the image
};

std::string message_of(j_common_ptr cinfo) {
  char text[JMSG_LENGTH_MAX] = {};
  (*cinfo->err->format_message)(cinfo, text);
  return text;
}

void on_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  err->decoder->result.error = message_of(cinfo);
  std::longjmp(err->jump, 1);
}

// level < 0: a warning (corrupt data libjpeg works around); >= 0: trace output, ignored.
void on_emit_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  ++err->pub.num_warnings;
  std::vector<std::string>& warnings = err->decoder->result.warnings;
  std::string text = message_of(cinfo);
  if (warnings.size() < kMaxWarnings &&
      std::find(warnings.begin(), warnings.end(), text) == warnings.end()) {
    warnings.push_back(std::move(text));
  }
}

// The largest of the 1/8, 1/4 and 1/2 scales whose output still covers `at_least` turned either
// way, else full size; libjpeg's output side at 1/n is ceil(side / n).
void choose_scale(jpeg_decompress_struct& cinfo, const cv::Size& at_least) {
  const int need = std::max(at_least.width, at_least.height);
  if (at_least.empty() || need <= 0) return;
  for (unsigned denom : {8u, 4u, 2u}) {
    cinfo.scale_num = 1;
    cinfo.scale_denom = denom;
    jpeg_calc_output_dimensions(&cinfo);
    if (cinfo.output_width >= static_cast<JDIMENSION>(need) &&
        cinfo.output_height >= static_cast<JDIMENSION>(need)) {
      return;
    }
  }
  cinfo.scale_num = 1;
  cinfo.scale_denom = 1;
}

// The orientation in the first APP1 segment, as OpenCV takes it (an XMP segment first hides a
// later EXIF one there too).
int orientation_of(const jpeg_decompress_struct& cinfo) {
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != nullptr; m = m->next) {
    if (m->marker == JPEG_APP0 + 1) return exif_orientation(m->data, m->data_length);
  }
  return 0;
}

// Out of line, as allocate(): run() must hold no std::string of its own across setjmp (GCC's
// -Wclobbered, and a longjmp past its destructor).
__attribute__((noinline)) void refuse_size(Decoder& d) {
  d.result.error = "image of " + std::to_string(d.cinfo.image_width) + "x" +
                   std::to_string(d.cinfo.image_height) + " pixels is too large";
}

__attribute__((noinline)) void allocate(Decoder& d) {
  d.result.rgb.create(static_cast<int>(d.cinfo.output_height),
                      static_cast<int>(d.cinfo.output_width), CV_8UC3);
}

// Runs libjpeg over the data. Only trivially destructible locals live in this frame, since a
// fatal error longjmps back into it. False: libjpeg failed (d.result.error says why).
bool run(Decoder& d, const std::uint8_t* data, std::size_t size, const cv::Size& at_least) {
  d.cinfo.err = jpeg_std_error(&d.err.pub);
  d.err.pub.error_exit = on_error_exit;
  d.err.pub.emit_message = on_emit_message;
  d.err.decoder = &d;
  if (setjmp(d.err.jump) != 0) return false;
  jpeg_create_decompress(&d.cinfo);
  d.created = true;
  jpeg_mem_src(&d.cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(&d.cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header(&d.cinfo, TRUE);
  d.orientation = orientation_of(d.cinfo);
  d.result.stored =
      cv::Size(static_cast<int>(d.cinfo.image_width), static_cast<int>(d.cinfo.image_height));
  if (d.cinfo.num_components == 4) {
    d.result.four_components = true;
    return true;
  }
  if (static_cast<std::uint64_t>(d.cinfo.image_width) * d.cinfo.image_height > max_pixels()) {
    refuse_size(d);
    return false;
  }
  d.cinfo.out_color_space = JCS_RGB;
  choose_scale(d.cinfo, at_least);
  jpeg_start_decompress(&d.cinfo);
  allocate(d);
  while (d.cinfo.output_scanline < d.cinfo.output_height) {
    JSAMPROW row = d.result.rgb.ptr<JSAMPLE>(static_cast<int>(d.cinfo.output_scanline));
    jpeg_read_scanlines(&d.cinfo, &row, 1);
  }
  d.all_rows = true;
  jpeg_finish_decompress(&d.cinfo);
  return true;
}

std::uint32_t read_u(const std::uint8_t* p, int bytes, bool little) {
  std::uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    const std::uint32_t b = p[little ? bytes - 1 - i : i];
    v = (v << 8) | b;
  }
  return v;
}

}  // namespace

bool is_jpeg(const std::uint8_t* data, std::size_t size) {
  return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

int exif_orientation(const std::uint8_t* app1, std::size_t size) {
  constexpr std::size_t kTiffStart = 6;  // "Exif\0\0", not checked (OpenCV does not either)
  if (size <= kTiffStart) return 0;
  const std::uint8_t* tiff = app1 + kTiffStart;
  const std::size_t n = size - kTiffStart;
  if (n < 8) return 0;
  bool little = false;
  if (tiff[0] == 'I' && tiff[1] == 'I') {
    little = true;
  } else if (!(tiff[0] == 'M' && tiff[1] == 'M')) {
    return 0;
  }
  auto u16 = [&](std::uint64_t at, std::uint32_t* v) {
    if (at + 2 > n) return false;
    *v = read_u(tiff + at, 2, little);
    return true;
  };
  std::uint32_t mark = 0;
  if (!u16(2, &mark) || mark != 0x2A) return 0;
  const std::uint64_t ifd = read_u(tiff + 4, 4, little);
  std::uint32_t entries = 0;
  if (!u16(ifd, &entries)) return 0;
  for (std::uint64_t e = 0; e < entries; ++e) {
    const std::uint64_t at = ifd + 2 + 12 * e;
    std::uint32_t tag = 0;
    if (!u16(at, &tag)) return 0;
    if (tag == 0x0112) {
      std::uint32_t value = 0;
      return u16(at + 8, &value) ? static_cast<int>(value) : 0;
    }
  }
  return 0;
}

void apply_orientation(int orientation, cv::Mat& image) {
  switch (orientation) {
    case 2:  // mirrored
      cv::flip(image, image, 1);
      break;
    case 3:  // upside down
      cv::flip(image, image, -1);
      break;
    case 4:  // mirrored upside down
      cv::flip(image, image, 0);
      break;
    case 5:  // mirrored, turned
      cv::transpose(image, image);
      break;
    case 6:  // turned a quarter clockwise to display
      cv::transpose(image, image);
      cv::flip(image, image, 1);
      break;
    case 7:
      cv::transpose(image, image);
      cv::flip(image, image, -1);
      break;
    case 8:  // turned a quarter anticlockwise to display
      cv::transpose(image, image);
      cv::flip(image, image, 0);
      break;
    default:
      break;
  }
}

Decoded decode(const std::uint8_t* data, std::size_t size, const cv::Size& at_least) {
  Decoder d;
  bool ok = false;
  try {
    ok = run(d, data, size, at_least);
  } catch (const std::exception& e) {  // the pixel buffer could not be allocated
    d.result.error = e.what();
    ok = false;
    d.all_rows = false;
  }
  if (d.created) jpeg_destroy_decompress(&d.cinfo);
  if (!ok && d.all_rows) {  // as cv::imread does: the pixels were all read, the image stands
    d.result.warnings.push_back(d.result.error);
    d.result.error.clear();
    ok = true;
  }
  if (!ok) {
    d.result.rgb.release();
    if (d.result.error.empty()) d.result.error = "not decodable";
    return std::move(d.result);
  }
  if (!d.result.rgb.empty()) apply_orientation(d.orientation, d.result.rgb);
  return std::move(d.result);
}

}  // namespace tlr::jpeg
