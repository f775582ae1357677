// The arithmetic a cell computes in: fp32 everywhere, or bf16 under libtorch's autocast (the
// convolutions and matrix products in bfloat16, fp32 master weights, optimizer state, BatchNorm
// statistics and losses).
#pragma once

#include <torch/types.h>

#include "tlr/abi.h"

namespace tlr {

enum class Precision { fp32, bf16 };

// "fp32" | "bf16".
TLR_API const char* precision_name(Precision precision);

// True when this CPU computes bf16 natively: AVX512_BF16 or AMX-BF16, reported by CPUID and
// enabled by the operating system (XGETBV). Read at run time, once. Without it, libtorch runs
// bf16 convolutions in a slow generic kernel (measured ~10x slower than fp32 on an AVX2 CPU).
TLR_API bool cpu_has_native_bf16();

// While it lives, operations on `device` run under libtorch's autocast with bfloat16 when
// `precision` is bf16; with fp32 it does nothing. Restores the previous autocast state when it
// ends and, at the outermost scope, clears autocast's cache of cast weights (they change with
// every optimizer step). Autocast state is thread-local: the scope covers the constructing thread
// only, and must end on it. Gradients computed by backward() from outputs made inside the scope
// follow the same casts; backward() itself may run outside it.
class TLR_API AutocastScope {
 public:
  AutocastScope(Precision precision, torch::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  torch::ScalarType previous_dtype_ = torch::kFloat;
};

}  // namespace tlr
