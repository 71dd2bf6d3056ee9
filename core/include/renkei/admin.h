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
  std::string method;   ///< GET or HEAD (the listener takes nothing else yet)
  std::string path;     ///< the handler's own path ("pending"), without /plugins/<id>/
  std::map<std::string, std::string> query;  ///< decoded parameters, each name once (the last given wins)
  std::string address;  ///< the caller's address
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
/// Until operators sign in, the listener serves "view" pages only and
/// answers 403 for the others, naming the permission.
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
