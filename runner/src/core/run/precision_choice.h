// Which precision a model computes in: its `training.precision` (or --precision, which the command
// line turns into that key), with `auto` resolved for the machine the cell runs on.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tlr/precision.h"

namespace tlr {

// "fp32" and "bf16" are themselves. "auto" is bf16 on a CPU with native bf16 (`native_bf16`,
// normally cpu_has_native_bf16()) and fp32 elsewhere, CUDA included: the CUDA path has not been
// measured, so it keeps fp32 until it has. Throws tlr::Error for another setting (validation
// refuses it earlier, at its line).
Precision resolve_precision(const std::string& setting, torch::Device device, bool native_bf16);

// The resolved precision of a resolved model (its training.precision; fp32 when absent) on
// `device`, for this machine.
Precision precision_of(const nlohmann::json& model, torch::Device device);

// True when `precision` is bf16 on a CPU without native bf16: it runs, emulated by libtorch's
// generic kernels, many times slower than fp32. The runner warns once.
bool emulated_bf16(Precision precision, torch::Device device);

}  // namespace tlr
