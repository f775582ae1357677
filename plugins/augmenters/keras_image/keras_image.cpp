// keras_image: Keras ImageDataGenerator-style augmentation (rotation, shifts, shear, zoom, flips,
// brightness) as one affine warp per image. Rescaling is the loader's job (data.input.scale).
#include <memory>
#include <random>
#include <string>

#include "keras_transform.h"
#include "tlr/sdk.h"

namespace tlr {
namespace keras_image {
namespace {

constexpr const char* kSchema =
    R"json({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "rotation_range": {"type": "number", "minimum": 0, "default": 0,
      "description": "degrees; each image is rotated by an angle drawn from [-r, r]"},
    "width_shift_range": {"type": "number", "minimum": 0, "default": 0,
      "description": "horizontal shift drawn from [-s, s]: a fraction of the width when)json"
    R"json( below 1, pixels otherwise"},
    "height_shift_range": {"type": "number", "minimum": 0, "default": 0,
      "description": "vertical shift drawn from [-s, s]: a fraction of the height when)json"
    R"json( below 1, pixels otherwise"},
    "shear_range": {"type": "number", "minimum": 0, "default": 0,
      "description": "shear angle in degrees drawn from [-s, s] (counter-clockwise, as Keras 2.x)"},
    "zoom_range": {"default": 0,
      "oneOf": [{"type": "number", "minimum": 0, "maximum": 1},
                {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0},
                 "minItems": 2, "maxItems": 2}],
      "description": "z: zoom factors drawn from [1-z, 1+z], or a [lo, hi] pair; rows)json"
    R"json( and columns are drawn independently; a factor above 1 shows a smaller image"},
    "horizontal_flip": {"type": "boolean", "default": false,
      "description": "mirror left-right with probability 1/2"},
    "vertical_flip": {"type": "boolean", "default": false,
      "description": "mirror top-bottom with probability 1/2"},
    "fill_mode": {"enum": ["nearest", "constant", "reflect", "wrap"], "default": "nearest",
      "description": "how points outside the image are filled: nearest (edge pixel),)json"
    R"json( constant (cval), reflect (dcba|abcd|dcba), wrap (abcd|abcd|abcd)"},
    "cval": {"type": "number", "default": 0,
      "description": "fill value for fill_mode constant, in 0..255 pixel units"},
    "brightness_range": {"type": ["array", "null"], "items": {"type": "number", "minimum": 0},
      "minItems": 2, "maxItems": 2, "default": null,
      "description": "[lo, hi]: pixel values multiplied by a factor drawn from this)json"
    R"json( range; null: off"},
    "interpolation": {"enum": ["bilinear", "nearest"], "default": "bilinear",
      "description": "resampling of the affine warp"},
    "rescale": {
      "description": "not an augmenter parameter: pixel scaling is done by the loader,)json"
    R"json( set data.input.scale (e.g. 0.00392156862745098 for 1/255)"}
  }
})json";

[[noreturn]] void fail(const std::string& problem) {
  throw Error("augmenter keras_image: error: " + problem);
}

// The schema bounds every value and lists every choice; what it cannot say is checked here.
Settings settings_from(const Params& p) {
  if (p.has("rescale")) {
    fail(
        "'rescale' is not an augmenter parameter; pixel scaling is done by the loader: set "
        "data.input.scale instead (e.g. 0.00392156862745098 for 1/255)");
  }
  Settings s;
  s.rotation_range = p.number("rotation_range");
  s.width_shift_range = p.number("width_shift_range");
  s.height_shift_range = p.number("height_shift_range");
  s.shear_range = p.number("shear_range");
  if (p.is_list("zoom_range")) {
    const std::vector<double> z = p.numbers("zoom_range");
    if (!(z[1] >= z[0])) fail("zoom_range must be a number or a [lo, hi] pair with 0 < lo <= hi");
    s.zoom_lo = z[0];
    s.zoom_hi = z[1];
  } else {
    const double z = p.number("zoom_range");
    if (z >= 1) fail("zoom_range must be below 1 when a single number, got " + std::to_string(z));
    s.zoom_lo = 1 - z;
    s.zoom_hi = 1 + z;
  }
  s.horizontal_flip = p.boolean("horizontal_flip");
  s.vertical_flip = p.boolean("vertical_flip");
  const std::string fill = p.string("fill_mode");
  if (fill == "constant") {
    s.fill_mode = FillMode::constant;
  } else if (fill == "reflect") {
    s.fill_mode = FillMode::reflect;
  } else if (fill == "wrap") {
    s.fill_mode = FillMode::wrap;
  } else {
    s.fill_mode = FillMode::nearest;
  }
  s.cval = p.number("cval");
  if (p.has("brightness_range")) {  // null (the default): off
    const std::vector<double> b = p.numbers("brightness_range");
    if (!(b[1] >= b[0])) fail("brightness_range must be a [lo, hi] pair with 0 <= lo <= hi");
    s.brightness_lo = b[0];
    s.brightness_hi = b[1];
  }
  s.interpolation =
      p.string("interpolation") == "nearest" ? Interpolation::nearest : Interpolation::bilinear;
  return s;
}

class KerasImageAugmenter : public Augmenter {
 public:
  explicit KerasImageAugmenter(Settings settings) : settings_(settings) {}
  cv::Mat apply(const cv::Mat& image, std::mt19937_64& rng) const override {
    const Transform t = draw(settings_, image.rows, image.cols, rng);
    return keras_image::apply(image, t, settings_);
  }

 private:
  Settings settings_;
};

std::unique_ptr<Augmenter> make(const Params& params, const Context&) {
  return std::make_unique<KerasImageAugmenter>(settings_from(params));
}

void register_components(Registry& registry) {
  registry.augmenter("keras_image", make, kSchema,
                     "Keras ImageDataGenerator-style rotation, shift, shear, zoom, flips");
}

}  // namespace
}  // namespace keras_image
}  // namespace tlr

TLR_PLUGIN("keras_image", "0.1.0", tlr::keras_image::register_components)
