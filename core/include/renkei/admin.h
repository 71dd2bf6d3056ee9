// The operator listener's pages a plugin adds: the HTTP twin of the API's
// addService. A plugin registers a handler per path with a help line and the
// permission it needs; the host serves it at /plugins/<instance id>/<path> on
// the admin listener (its address, TLS, request deadline and per-address
// limits), lists it at /plugins, and writes the audit line. The console's
// review queues, bridge approvals and reports are such pages, not code in
// the host.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace renkei {

/// One request to a plugin's page.
struct AdminRequest {
  std::string method;   ///< GET or HEAD; POST for a page whose permission is not "view" (SDK ABI 15)
  std::string path;     ///< the handler's own path ("pending"), without /plugins/<id>/
  std::map<std::string, std::string> query;  ///< decoded parameters, each name once (the last given wins)
  std::string address;  ///< the caller's address
  /// The signed-in operator's id (SDK ABI 15): who a change is logged as.
  /// A POST reaches the handler only from a session with the page's
  /// permission and the session's CSRF token; the host audits it.
  std::string who;
};

/// What the page answers. Never a personal value in a page that does not
/// need one; never a secret.
struct AdminResponse {
  int status = 200;
  std::string contentType = "application/json; charset=utf-8";
  std::string body;
};

using AdminHandler = std::function<AdminResponse(const AdminRequest&)>;

/// Permissions a page may ask for: "view" (read-only figures and lists),
/// "operate", "administer", "audit", or a module's own ("review", "crm").
/// Without operators (no <admin><group>), the listener serves "view" pages
/// only, to anyone who reaches it, and answers 403 for the others.
class AdminRegistry {
 public:
  virtual ~AdminRegistry() = default;
  /// `path`: [a-z0-9-] words joined by '/', at most 100 bytes. Throws
  /// std::invalid_argument for a bad path, an unknown permission or a path
  /// added twice. `handler` runs on the listener's threads, several at
  /// once, within its request deadline; an exception is answered 500
  /// without its text (which may hold values) and logged.
  virtual void addHandler(const std::string& path, const std::string& help, const std::string& permission,
                          AdminHandler handler) = 0;
};

}  // namespace renkei
