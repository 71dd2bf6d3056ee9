// `renkei token keygen|make|inspect`: for IT staff handling sealed visit
// tokens. (The bridge's keys are the bridge plugin's own `renkei bridge
// keygen`.)
#pragma once

#include <map>
#include <string>

namespace renkei {

/// Runs `renkei token <action>`; returns the exit status.
int runTokenCommand(const std::string& action, const std::map<std::string, std::string>& values);

}  // namespace renkei
