#include "operator_page.h"

#include "renkei/json.h"

namespace renkei::connectors {

AdminResponse operatorPage(const AdminRequest& request, const std::string& action,
                           const std::vector<std::string>& options,
                           const std::function<std::optional<OperatorResult>(const OperatorRequest&)>& operate) {
  AdminResponse r;
  if (request.method != "POST") {
    r.status = 405;
    r.body = "{\"error\":\"POST\"}\n";
    return r;
  }
  OperatorRequest op;
  op.action = action;
  op.by = request.who.empty() ? std::string("console") : request.who + " (console)";
  for (const std::string& key : options)
    if (auto it = request.query.find(key); it != request.query.end()) op.options["--" + key] = it->second;
  const std::optional<OperatorResult> result = operate(op);
  const bool ok = result && result->status == 0;
  r.status = ok ? 200 : result && result->status == 2 ? 400 : 409;
  r.body = "{\"ok\":" + std::string(ok ? "true" : "false") + ",\"message\":" +
           jsonQuoted(result ? (ok ? result->logged : result->error) : std::string("?")) + "}\n";
  return r;
}

}  // namespace renkei::connectors
