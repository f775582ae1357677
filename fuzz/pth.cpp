// Fuzz target: a weight file through read_state_dict() (engine/weights/state_dict.h): torch.save
// zip archives (libtorch's PyTorchStreamReader, then the project's unpickler) and legacy
// torch.save streams (the unpickler and the storage reader). Every problem must be a tlr::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/weights/state_dict.h"
#include "fuzz_support.h"
#include "tlr/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = (tlr::fuzz::scratch_dir() / "weights.pth").string();
  tlr::fuzz::write_file(path, data, size);
  try {
    const tlr::NamedTensors tensors = tlr::read_state_dict(path);
    for (const auto& [name, tensor] : tensors) {
      // Touch every element: a tensor pointing outside its storage shows here.
      if (tensor.numel() > 0) (void)tensor.sum().item<double>();
    }
    tlr::fuzz::note(std::to_string(tensors.size()) + " tensors");
  } catch (const tlr::Error& e) {
    tlr::fuzz::note(e.what());
  }
  return 0;
}
