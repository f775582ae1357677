// Fuzz target: the idx dataset plugin (plugins/datasets/idx/idx.cpp) over an idx1 labels file and
// an idx3 images file, raw or gzip-compressed. The input is split by fuzz_support.h's
// split_input: labels first, then images.
#include <cstddef>
#include <cstdint>

#include "dataset_fuzz.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [labels, images] = tlr::fuzz::split_input(data, size);
  const auto dir = tlr::fuzz::scratch_dir();
  tlr::fuzz::write_file(dir / "labels-idx1-ubyte", labels);
  tlr::fuzz::write_file(dir / "images-idx3-ubyte", images);
  tlr::fuzz::exercise_dataset(
      "idx",
      R"({"root": ")" + dir.string() +
          R"(", "classes": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
          "train_images": "images-idx3-ubyte", "train_labels": "labels-idx1-ubyte",
          "test_images": "", "test_labels": ""})",
      /*max_images=*/16);
  return 0;
}
