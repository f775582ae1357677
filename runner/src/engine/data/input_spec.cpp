#include "engine/data/input_spec.h"

#include <string>

#include "tlr/error.h"

namespace tlr {
namespace {

[[noreturn]] void fail(const std::string& problem) { throw Error("data.input: error: " + problem); }

std::vector<double> statistic(const Params& input, const std::string& key,
                              const std::vector<double>& imagenet) {
  if (!input.has(key)) return {};
  if (input.is_list(key)) return input.numbers(key);
  const std::string preset = input.string(key);
  if (preset != "imagenet") fail(key + " '" + preset + "' is not a list or 'imagenet'");
  return imagenet;
}

std::vector<double> expand(const std::vector<double>& values, int channels, double fallback,
                           const char* key) {
  if (values.empty()) return std::vector<double>(channels, fallback);
  if (values.size() == 1) return std::vector<double>(channels, values[0]);
  if (static_cast<int>(values.size()) != channels) {
    fail(std::string(key) + " has " + std::to_string(values.size()) + " values but channels is " +
         std::to_string(channels));
  }
  return values;
}

ImageFit::Mode fit_mode(const std::string& name, const std::string& key) {
  if (name == "stretch") return ImageFit::Mode::stretch;
  if (name == "center_crop") return ImageFit::Mode::center_crop;
  fail(key + " '" + name + "' is not one of stretch, center_crop");
}

}  // namespace

InputSpec InputSpec::from_params(const Params& input) {
  InputSpec spec;
  if (input.is_list("size")) {
    const std::vector<std::int64_t> size = input.integers("size");
    if (size.size() != 2) fail("size must be [height, width] or one number");
    spec.height = static_cast<int>(size[0]);
    spec.width = static_cast<int>(size[1]);
  } else {
    spec.height = spec.width = static_cast<int>(input.integer("size"));
  }
  if (spec.height < 1 || spec.width < 1) fail("size must be positive");
  spec.channels = static_cast<int>(input.integer("channels", 3));
  if (spec.channels != 1 && spec.channels != 3) fail("channels must be 1 or 3");
  spec.scale = input.number("scale", 1.0);
  spec.mean = statistic(input, "mean", {0.485, 0.456, 0.406});
  spec.std = statistic(input, "std", {0.229, 0.224, 0.225});
  if (input.has("fit")) {
    if (input.is_object("fit")) {
      const Params fit = input.child("fit");
      for (const std::string& key : fit.keys()) {
        if (key != "train" && key != "eval") fail("fit has '" + key + "'; it takes train and eval");
      }
      spec.train_fit.mode = fit_mode(fit.string("train", "stretch"), "fit.train");
      spec.eval_fit.mode = fit_mode(fit.string("eval", "stretch"), "fit.eval");
    } else {
      spec.train_fit.mode = spec.eval_fit.mode = fit_mode(input.string("fit"), "fit");
    }
  }
  const double crop_fraction = input.number("crop_fraction", 0.875);
  if (!(crop_fraction > 0 && crop_fraction <= 1)) fail("crop_fraction must be in (0, 1]");
  spec.train_fit.crop_fraction = spec.eval_fit.crop_fraction = crop_fraction;
  spec.channel_mean();
  spec.channel_std();
  return spec;
}

std::vector<double> InputSpec::channel_mean() const { return expand(mean, channels, 0.0, "mean"); }

std::vector<double> InputSpec::channel_std() const {
  std::vector<double> out = expand(std, channels, 1.0, "std");
  for (double s : out) {
    if (!(s != 0)) fail("std must not be 0");
  }
  return out;
}

}  // namespace tlr
