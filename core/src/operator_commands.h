// The operators' commands on the store: status, deadletters, replay.
#pragma once

#include <cstdint>
#include <optional>

#include "config.h"
#include <map>
#include <set>
#include <string>

namespace renkei {

/// Runs `renkei status|deadletters|replay` with parsed options; returns the
/// exit status (0 done, 1 store trouble, 2 usage or config error).
int runOperatorCommand(const std::string& command, const std::string& action,
                       const std::map<std::string, std::string>& values, const std::set<std::string>& flags);

namespace store {
class Store;
}
/// The value of option `key` ("" when not given).
std::string optionValue(const std::map<std::string, std::string>& values, const std::string& key);
/// Who runs an operator command: --by, else the login name.
std::string operatorName(const std::map<std::string, std::string>& values);

/// The config an operator command names with --config, read and with its
/// time-zone in use; nothing after printing why (the exit status is 2).
std::optional<HostConfig> operatorConfig(const std::map<std::string, std::string>& values, const std::string& name,
                                         const std::string& whose);

/// Copies what an operator command wrote to the operators' log after line
/// `after` into the audit trail, when the config has <audit>.
void auditOperatorActions(const HostConfig& config, store::Store& s, std::int64_t after);

}  // namespace renkei
