// The CRC-32 a zip archive's central directory records for each of its files, and the CRC-32 of
// bytes read. libtorch's PyTorchStreamReader is built with miniz's CRC checks off
// (MINIZ_DISABLE_ZIP_READER_CRC32_CHECKS), so a .pth with flipped bytes in a tensor loads
// without complaint; read_state_dict() compares every record it reads with its recorded CRC.
//
// Contract: pure functions over a byte range the caller owns; no allocation beyond the result.
// Reads the end-of-central-directory record (and its zip64 form), then every central directory
// entry. Throws weights::FormatError for a directory that is missing or runs past the data.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace tlr::weights {

// File name in the archive ("archive/data/0") -> CRC-32 its central directory entry records.
std::map<std::string, std::uint32_t> zip_recorded_crcs(const char* data, std::size_t size);

// CRC-32 (ISO-HDLC, zip's and zlib's) of `size` bytes.
std::uint32_t crc32_of(const void* data, std::size_t size);

}  // namespace tlr::weights
