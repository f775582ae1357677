// Weight files: PyTorch state dicts (torchvision's published .pth files and the runner's own
// checkpoints), read without Python.
//
// Formats read by read_state_dict():
//  - torch.save zip archives (PyTorch >= 1.6): `<archive>/data.pkl` plus `<archive>/data/<key>`,
//    including torchvision's OrderedDict with a `_metadata` attribute (ignored);
//  - the legacy pre-1.6 torch.save stream (magic number, protocol, sys_info, the pickled object,
//    the storage keys, then the raw storages), which older published torchvision files use;
//  - files written by save_state_dict() (a torch.save zip archive of a plain dict, so that
//    Python's torch.load reads them too).
// A file whose top-level object is a dict holding a "state_dict" or "model" dict (a training
// checkpoint) yields that inner dict. Tensors come back contiguous, on the CPU, with the file's
// dtype. Quantized tensors, sparse tensors and arbitrary Python objects are not supported.
//
// Errors are tlr::Error with one line in the compiler style, the path first:
//   vgg16.pth: error: shape mismatch for 'features.0.weight': file has [64, 3, 3, 3], model has
//   [16, 3, 3, 3]
#pragma once

#include <torch/nn/module.h>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

namespace tlr {

// Named tensors in file order.
using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Reads every tensor of a state-dict file. Throws tlr::Error naming the file when it is missing,
// truncated, corrupt or of an unsupported kind.
NamedTensors read_state_dict(const std::string& path);

// Writes named tensors as a torch.save zip archive holding a plain dict (readable by
// read_state_dict() and by Python's torch.load). The file is written next to `path` and renamed
// into place, so a crash never leaves a half-written file under `path`. Throws tlr::Error.
void save_state_dict(const std::string& path, const NamedTensors& tensors);
// The parameters and buffers of `module`, by their full names.
void save_state_dict(const std::string& path, const torch::nn::Module& module);

// Copies the tensors of a state-dict file into module's parameters and buffers, matched by full
// name (named_parameters() then named_buffers()). All-or-nothing: the module is unchanged unless
// every check passes. Names starting with one of `skip_prefixes` are ignored in the file and in
// the module (partial loading happens only when asked). A `num_batches_tracked` buffer present on
// only one side is ignored. Throws one tlr::Error naming the file and the first offending key:
// missing key (in the module, not in the file), unexpected key (in the file, not in the module),
// or a shape mismatch. Values are converted to the module tensor's dtype.
void load_state_dict(torch::nn::Module& module, const std::string& path,
                     const std::vector<std::string>& skip_prefixes = {});

// Lower-case hex SHA-256 of a file's bytes (identifies weights in cache keys and the run store).
// Throws tlr::Error naming the file when it cannot be read.
std::string sha256_of_file(const std::string& path);

}  // namespace tlr
