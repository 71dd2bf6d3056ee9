// `renkei token keygen|make|inspect` and `renkei bridge keygen`: for IT staff
// handling sealed visit tokens and the bridge's keys.
#pragma once

#include <map>
#include <string>

namespace renkei {

/// Runs `renkei token <action>`; returns the exit status.
int runTokenCommand(const std::string& action, const std::map<std::string, std::string>& values);

/// Runs `renkei bridge <action>` (keygen: the keys one side of a bridge
/// holds); returns the exit status.
int runBridgeCommand(const std::string& action, const std::map<std::string, std::string>& values);

}  // namespace renkei
