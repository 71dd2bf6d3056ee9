// The admin listener (POCO Net): /metrics in the Prometheus text format,
// /health for monitoring, and the pages plugins add (/plugins, then
// /plugins/<instance>/<path>); loopback HTTP by default, HTTPS when
// configured. The full operator console comes later; nothing here shows
// personal data.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "admin_pages.h"
#include "console_auth.h"
#include "config.h"
#include "pipeline/metrics.h"

#include "renkei/support/http_server.h"

namespace renkei {

class AdminServer {
 public:
  /// Why the host is not healthy ("" when it is): the store gone or not
  /// answering.
  using Health = std::function<std::string()>;
  /// A report as JSON (the routes' queues for the console).
  using Report = std::function<std::string()>;
  /// Throws std::runtime_error (address in use, bad certificate …).
  /// `store`: where the operators are (when the config has groups).
  AdminServer(const AdminConfig& config, pipeline::MetricsRegistry& metrics, const AdminPages& pages, Health health,
              const store::StoreConfig& store, Report routes = {});
  ~AdminServer();
  void start();
  void stop();
  int port() const;

 private:
  std::unique_ptr<console::Console> console_;  ///< before server_: its handlers use it
  std::unique_ptr<http::Server> server_;
  int port_ = 0;
};

}  // namespace renkei
