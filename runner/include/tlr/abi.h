// The SDK's binary contract: bump TLR_ABI_VERSION whenever a class or struct in these headers
// changes layout or a virtual function is added, removed or reordered.
#pragma once

// 2: Dataset::image_at_least (a size hint for reduced decoding).
// 3: Backbone::can_forward_blocks/forward_blocks, BackboneBlocks (run part of a backbone).
// 4: Cell::device and Cell::probing (the device a cell runs on; the validation probe),
//    tlr::ParamError (an error located at a parameter's line:column); Cell::publish_weights
//    removed (the model's `publish:` key), Registry::erase.
// 5: Cell::precision, tlr::Precision and tlr::AutocastScope (bf16 under libtorch's autocast).
//    Later, without a layout change: SequentialBackbone::stage_views (non-virtual);
//    tlr::read_image_rgb, tlr::warn_image and tlr::ImageWarnings (image_file.h, new).
#define TLR_ABI_VERSION 5u

#if defined(_WIN32)
#define TLR_EXPORT __declspec(dllexport)
#else
#define TLR_EXPORT __attribute__((visibility("default")))
#endif

// Every target builds with hidden visibility; the SDK's classes are exported explicitly.
#define TLR_API TLR_EXPORT
