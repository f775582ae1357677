// "Did you mean" suggestions: the known name closest to a misspelt one by edit distance, in the
// manner of LLVM's cl::LookupNearestOption.
#pragma once

#include <string>
#include <vector>

namespace tlr::config {

// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent
// transpositions each cost 1 ("widht" is 1 away from "width").
std::size_t edit_distance(const std::string& a, const std::string& b);

// The candidate closest to `name`, or "" when none is close enough to be a plausible typo (at most
// max(2, |name| / 3) edits and fewer edits than the name has characters). Ties go to the earlier
// candidate.
std::string nearest_name(const std::string& name, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" for the nearest candidate, or "".
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace tlr::config
