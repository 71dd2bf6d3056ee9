// renkei backup [now|list|verify] and renkei restore.
#pragma once

#include <map>
#include <string>

namespace renkei {

/// `command` is backup (action now, list or verify) or restore. Exit codes:
/// 0 done, 1 failed (said why), 2 usage.
int runBackupCommand(const std::string& command, const std::string& action,
                     const std::map<std::string, std::string>& values);

}  // namespace renkei
