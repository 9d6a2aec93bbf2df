// "Did you mean ...?" for a mistyped name (a command, a REPL directive).
#pragma once

#include <string>
#include <vector>

namespace twin {

// The candidate closest to `typo` by edit distance (insertions, deletions, substitutions and
// transpositions of neighbours each count 1), when it is close enough to be a likely typo: at
// most 1 edit for names of up to 4 characters, 2 for longer ones. "" when none is.
std::string closest_name(const std::string& typo, const std::vector<std::string>& candidates);

// " (did you mean 'check'?)" for closest_name's answer, "" when there is none.
std::string did_you_mean(const std::string& typo, const std::vector<std::string>& candidates,
                         const std::string& prefix = "");

}  // namespace twin
