// `renkei token keygen|inspect`: for IT staff handling sealed visit tokens.
#pragma once

#include <map>
#include <string>

namespace renkei {

/// Runs `renkei token <action>`; returns the exit status.
int runTokenCommand(const std::string& action, const std::map<std::string, std::string>& values);

}  // namespace renkei
