// `renkei <plugin key> <action> …`: an operator's command handed to a
// plugin (Connector::operate), e.g. the bridge's `keygen`, `approve` and
// `reject`. The core knows no plugin's actions: each plugin declares its
// verbs (RENKEI_PLUGIN_VERBS), the host checks the options against them,
// configures the instance in validation mode (or, for a verb without a
// config, makes a fresh one), asks it, prints its answer and keeps what it
// did in the operators' log.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace renkei {

/// Runs the command; returns the exit status (0 done, 1 refused, 2 usage).
/// `builtins`: the host's own commands, for "did you mean" when no plugin
/// has the key.
int runPluginCommand(const std::string& plugin, const std::string& action,
                     const std::map<std::string, std::string>& values, const std::vector<std::string>& builtins);

}  // namespace renkei
