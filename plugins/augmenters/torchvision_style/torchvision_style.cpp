// torchvision_style: torchvision's training transforms (RandomResizedCrop, RandomHorizontalFlip,
// ColorJitter) and, in eval mode, Resize + CenterCrop. ToTensor and Normalize are the loader's
// (data.input scale, mean and std, with the `imagenet` preset).
#include <memory>
#include <random>
#include <string>

#include "tlr/sdk.h"
#include "torchvision_transform.h"

namespace tlr {
namespace torchvision_style {
namespace {

constexpr const char* kSchema =
    R"json({
  "type": "object",
  "additionalProperties": false,
  "description": "Normalize is not part of this augmenter: the loader scales and)json"
    R"json( normalises every split from data.input (scale: 0.00392156862745098, mean:)json"
    R"json( imagenet, std: imagenet for torchvision's ImageNet statistics)",
  "properties": {
    "mode": {"enum": ["train", "eval"], "default": "train",
      "description": "train: the random steps below; eval: only the deterministic)json"
    R"json( center_crop (use it for validation and test images)"},
    "random_resized_crop": {
      "type": ["object", "boolean", "null"],
      "default": {"scale": [0.08, 1.0], "ratio": [0.75, 1.3333333333333333]},
      "additionalProperties": false,
      "properties": {
        "scale": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
          "minItems": 2, "maxItems": 2, "default": [0.08, 1.0],
          "description": "range of the cropped area as a fraction of the image"},
        "ratio": {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0},
          "minItems": 2, "maxItems": 2, "default": [0.75, 1.3333333333333333],
          "description": "range of the crop's aspect ratio (width / height), drawn log-uniformly"}
      },
      "description": "crop a random area and aspect ratio, then resize back to the)json"
    R"json( input size (data.input.size); false or null: off"},
    "horizontal_flip": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
      "description": "probability of a left-right mirror"},
    "vertical_flip": {"type": "number", "minimum": 0, "maximum": 1, "default": 0,
      "description": "probability of a top-bottom mirror"},
    "color_jitter": {
      "type": "object",
      "additionalProperties": false,
      "default": {},
      "properties": {
        "brightness": {"type": "number", "minimum": 0, "default": 0,
          "description": "factor drawn from [max(0, 1-b), 1+b]"},
        "contrast": {"type": "number", "minimum": 0, "default": 0,
          "description": "factor drawn from [max(0, 1-c), 1+c]"},
        "saturation": {"type": "number", "minimum": 0, "default": 0,
          "description": "factor drawn from [max(0, 1-s), 1+s]"},
        "hue": {"type": "number", "minimum": 0, "maximum": 0.5, "default": 0,
          "description": "hue shift drawn from [-h, h], in turns"}
      },
      "description": "ColorJitter; the four steps run in a random order"},
    "center_crop": {
      "type": ["object", "null"],
      "default": null,
      "additionalProperties": false,
      "required": ["resize", "crop"],
      "properties": {
        "resize": {"type": "integer", "minimum": 1, "description": "Resize: the shorter)json"
    R"json( side, pixels (e.g. 256)"},
        "crop": {"type": "integer", "minimum": 1, "description": "CenterCrop: the side)json"
    R"json( kept, pixels (e.g. 224)"}
      },
      "description": "eval transform Resize(resize) + CenterCrop(crop), applied in eval)json"
    R"json( mode: keeps the central crop/resize of the shorter side, resized back to)json"
    R"json( the input size"},
    "normalize": {"description": "not an augmenter parameter: set data.input.mean and std"},
    "mean": {"description": "not an augmenter parameter: set data.input.mean"},
    "std": {"description": "not an augmenter parameter: set data.input.std"}
  }
})json";

[[noreturn]] void fail(const std::string& problem) {
  throw Error("augmenter torchvision_style: error: " + problem);
}

// The schema gives the pair's length and bounds; that lo <= hi, it cannot say.
void pair_of(const Params& p, const std::string& key, double* lo, double* hi) {
  const std::vector<double> v = p.numbers(key);
  if (!(v[1] >= v[0])) {
    fail("random_resized_crop." + key + " must be a [lo, hi] pair with 0 < lo <= hi");
  }
  *lo = v[0];
  *hi = v[1];
}

// The schema bounds every value and lists every choice.
Settings settings_from(const Params& p) {
  // Declared in the schema (so that it does not refuse them as unknown first) to say where
  // normalisation is set instead.
  for (const char* key : {"normalize", "mean", "std"}) {
    if (p.has(key)) {
      throw tlr::ParamError(key,
                            "augmenter torchvision_style: error: normalisation is not an augmenter "
                            "parameter; the loader normalises every split: set data.input.mean "
                            "and data.input.std (or both to imagenet)");
    }
  }
  Settings s;
  s.eval = p.string("mode") == "eval";
  if (p.is_object("random_resized_crop")) {
    const Params crop = p.child("random_resized_crop");
    pair_of(crop, "scale", &s.scale_lo, &s.scale_hi);
    pair_of(crop, "ratio", &s.ratio_lo, &s.ratio_hi);
  } else if (p.has("random_resized_crop")) {
    s.random_resized_crop = p.boolean("random_resized_crop");
  } else {
    s.random_resized_crop = false;  // null: off
  }
  s.horizontal_flip = p.number("horizontal_flip");
  s.vertical_flip = p.number("vertical_flip");
  const Params jitter = p.child("color_jitter");
  s.brightness = jitter.number("brightness");
  s.contrast = jitter.number("contrast");
  s.saturation = jitter.number("saturation");
  s.hue = jitter.number("hue");
  if (p.is_object("center_crop")) {
    const Params cc = p.child("center_crop");
    s.resize = static_cast<int>(cc.integer("resize"));
    s.crop = static_cast<int>(cc.integer("crop"));
  }
  return s;
}

class TorchvisionStyleAugmenter : public Augmenter {
 public:
  explicit TorchvisionStyleAugmenter(Settings settings) : settings_(settings) {}
  cv::Mat apply(const cv::Mat& image, std::mt19937_64& rng) const override {
    return torchvision_style::apply(image, draw(settings_, image.rows, image.cols, rng));
  }

 private:
  Settings settings_;
};

std::unique_ptr<Augmenter> make(const Params& params, const Context&) {
  return std::make_unique<TorchvisionStyleAugmenter>(settings_from(params));
}

void register_components(Registry& registry) {
  registry.augmenter(
      "torchvision_style", make, kSchema,
      "torchvision RandomResizedCrop, flips, ColorJitter; Resize+CenterCrop in eval");
}

}  // namespace
}  // namespace torchvision_style
}  // namespace tlr

TLR_PLUGIN("torchvision_style", "0.1.0", tlr::torchvision_style::register_components)
