// renkei backup [now|list|verify] and renkei restore.
#pragma once

#include <map>
#include <string>

namespace renkei {

/// `command` is backup (action now, list or verify) or restore. Exit codes:
/// 0 done, 1 failed (said why), 2 usage.
int runBackupCommand(const std::string& command, const std::string& action,
                     const std::map<std::string, std::string>& values);

/// renkei migrate --config F [--dry-run] [--by NAME]: the store's schema
/// steps still to run, what each brings and (dry run) its SQL; without
/// --dry-run, runs them. A store newer than this renkei is refused (exit 1).
int runMigrateCommand(const std::map<std::string, std::string>& values);

}  // namespace renkei
