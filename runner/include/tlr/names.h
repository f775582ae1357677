// "Did you mean" hints: the known name closest to a misspelt one, in the manner of LLVM's
// cl::LookupNearestOption. The runner uses them for YAML keys, plugin names and classes; plugins
// for their own names (blocks, classes, files).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tlr/abi.h"

namespace tlr {

// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent
// transpositions each cost 1 ("widht" is 1 away from "width").
TLR_API std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, or "" when none is close enough to be a plausible typo (at most
// max(2, |name| / 3) edits and fewer edits than the longer name has characters). Ties go to the
// earlier candidate. `ignore_case`: "shirt" is 0 away from "Shirt".
TLR_API std::string nearest_name(const std::string& name,
                                 const std::vector<std::string>& candidates,
                                 bool ignore_case = false);

// "; did you mean 'x'?" for the nearest candidate, or "".
TLR_API std::string did_you_mean(const std::string& name,
                                 const std::vector<std::string>& candidates,
                                 bool ignore_case = false);

}  // namespace tlr
