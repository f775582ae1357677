// torchvision names its published weight files <name>-<first hex digits of their sha256>.pth
// (vgg16-397923af.pth) and checks that prefix when it downloads one. The runner checks it every
// time it loads such a file, so that a damaged or swapped copy is refused, naming both digests,
// instead of training from it.
//
// Contract: pure functions of their arguments; thread-safe.
#pragma once

#include <string>

namespace tlr {

// The sha256 prefix the file name claims: the part of its stem after the last '-' when that is 8
// to 64 lower-case hex digits with at least one letter a-f (so a date or version number,
// "weights-20240101.pth", is not taken for a digest). "" when it claims none.
std::string claimed_sha256_prefix(const std::string& path);

// Throws tlr::Error "<path>: error: its sha256 is <digest>, but its name says it starts with
// <prefix>: ..." when the file name claims a prefix `sha256` (the file's digest, lower-case hex)
// does not start with.
void check_claimed_sha256(const std::string& path, const std::string& sha256);

}  // namespace tlr
