// The one entry point of a plugin library. In exactly one .cpp of the plugin:
//
//   static void register_components(tlr::Registry& registry) {
//     registry.backbone("tiny", make_tiny, kTinySchema, "a two-layer CNN");
//   }
//   TLR_PLUGIN("tiny", "0.1.0", register_components)
//
// The runner checks abi_version, torch_version and cxx11_abi before calling register_fn, and
// refuses the library with a message naming the file and both versions on a mismatch.
#pragma once

#include <torch/version.h>

#include <cstdint>

#include "tlr/abi.h"
#include "tlr/registry.h"

extern "C" {
struct tlr_plugin_descriptor {
  std::uint32_t abi_version;  // TLR_ABI_VERSION the plugin was built against
  const char* name;           // the plugin's name
  const char* version;        // the plugin's own version
  const char* torch_version;  // TORCH_VERSION the plugin was built against
  int cxx11_abi;              // _GLIBCXX_USE_CXX11_ABI the plugin was built with
  void (*register_fn)(tlr::Registry&);
};
}

#define TLR_PLUGIN_ENTRY_SYMBOL "tlr_plugin_info"

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define TLR_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define TLR_CXX11_ABI 0
#endif

#define TLR_PLUGIN(NAME, VERSION, REGISTER_FN)                                               \
  extern "C" TLR_EXPORT const tlr_plugin_descriptor* tlr_plugin_info() {                     \
    static const tlr_plugin_descriptor info = {TLR_ABI_VERSION, NAME,          VERSION,      \
                                               TORCH_VERSION,   TLR_CXX11_ABI, REGISTER_FN}; \
    return &info;                                                                            \
  }
