// A console page that does what an operator command does (the bridge's
// approve and reject, a held export's release): POST only, the signed-in
// operator as who asks, the page's query parameters passed as the
// command's options, the command's result as JSON.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "renkei/sdk.h"

namespace renkei::connectors {

/// `options`: query parameters taken as `--<name>`. Answers 405 for a GET,
/// 200 when the command did it, 400 for a usage error, 409 when it refused;
/// {"ok":…,"message":…} (the operators' log line, or why not).
AdminResponse operatorPage(const AdminRequest& request, const std::string& action,
                           const std::vector<std::string>& options,
                           const std::function<std::optional<OperatorResult>(const OperatorRequest&)>& operate);

}  // namespace renkei::connectors
