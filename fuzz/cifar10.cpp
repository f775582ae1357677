// Fuzz target: the cifar10 dataset plugin (plugins/datasets/cifar10/cifar10.cpp) over a
// batches.meta.txt (the class names) and one batch file. The input is split by fuzz_support.h's
// split_input: batches.meta.txt first, then test_batch.bin.
#include <cstddef>
#include <cstdint>

#include "dataset_fuzz.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto [meta, batch] = tlr::fuzz::split_input(data, size);
  const auto dir = tlr::fuzz::scratch_dir();
  tlr::fuzz::write_file(dir / "batches.meta.txt", meta);
  tlr::fuzz::write_file(dir / "test_batch.bin", batch);
  tlr::fuzz::exercise_dataset("cifar10",
                              R"({"root": ")" + dir.string() +
                                  R"(", "classes": [], "train_files": [],
                                  "test_files": ["test_batch.bin"]})",
                              /*max_images=*/16);
  return 0;
}
