// `renkei <plugin key> <action> …`: an operator's command handed to the
// connector instances of that plugin (Connector::operate), e.g. the
// bridge's `approve` and `reject`. The core knows no plugin's actions; it
// configures the instance in validation mode, asks it, prints its answer and
// keeps what it did in the operators' log.
#pragma once

#include <map>
#include <string>

namespace renkei {

/// Runs the command; returns the exit status (0 done, 1 refused, 2 usage).
int runPluginCommand(const std::string& plugin, const std::string& action,
                     const std::map<std::string, std::string>& values);

}  // namespace renkei
