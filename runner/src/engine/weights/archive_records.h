// Checks every record of a libtorch zip archive (torch::save, torch::serialize::OutputArchive)
// against the CRC-32 its central directory records, before libtorch's loader sees the archive.
// libtorch checks no CRC (engine/weights/zip_checksums.h), and its TorchScript importer, which
// torch::load runs over the archive's code/ records, can crash the process on a corrupt one
// (SEGV in ScriptTypeParser; fuzz/corpus/feature_cache/regression-corrupt-code-record-segv).
// Used by the feature cache and the fit checkpoints. Thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <string>

namespace tlr {

// Throws std::runtime_error (weights::FormatError, c10::Error) naming the first record of the
// archive in [data, data + size) whose bytes do not match their recorded CRC-32, or when the
// archive does not read.
void check_archive_records(const char* data, std::size_t size);

// check_archive_records() over the bytes of file `path` from `offset` on (mapped, not read).
void check_archive_file(const std::string& path, std::size_t offset = 0);

}  // namespace tlr
