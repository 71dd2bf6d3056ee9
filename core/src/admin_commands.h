// `renkei admin user add|passwd|disable|enable|list|totp`: the console's
// operators, made and changed from the command line (the first operator can
// only be made here: there is no default one).
#pragma once

#include <map>
#include <string>

namespace renkei {

/// Exit status: 0 done, 1 store trouble or refused, 2 usage or config error.
int runAdminCommand(const std::string& verb, const std::map<std::string, std::string>& values);

}  // namespace renkei
