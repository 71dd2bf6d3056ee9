// The admin listener (POCO Net): /metrics in the Prometheus text format,
// /health for monitoring, and the pages plugins add (/plugins, then
// /plugins/<instance>/<path>); loopback HTTP by default, HTTPS when
// configured. The full operator console comes later; nothing here shows
// personal data.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <variant>
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
  /// What the console's pages read and do in the host (JSON answers;
  /// field names and counts, never a record's values except where said).
  struct Backend {
    std::function<std::string()> routes;       ///< {"queues":[…]}
    std::function<std::string()> plugins;      ///< {"plugins":[…]}: key, version, status, instances
    /// The municipal calendar's days of `year` that are not plain open
    /// weekdays (holidays, 年末年始, local closed days, 土日開庁), or nothing
    /// without a calendar.
    std::function<std::optional<std::string>(int year)> calendar;
    /// The routes' queues as CSV (a report download) and as an SVG bar chart.
    std::function<std::string()> routesCsv, routesSvg;
    std::function<std::string()> deadLetters;  ///< {"dead":[…]}
    /// One dead letter with its rows and, with `records` > 0, its first
    /// records (personal data: audited by the caller); nothing: no batch.
    std::function<std::optional<std::string>(const std::string& batch, int records)> deadLetter;
    /// {"refused":[…],"held":[…]}: items refused whole (error/, rejected/)
    /// not acknowledged, and held records per emitter, route and type.
    std::function<std::string()> problems;
    /// An operator has seen to refused item `id`: 1, or 0 (logged as `who`).
    std::function<std::int64_t(std::int64_t id, const std::string& who)> acknowledge;
    /// Delivers again what the store holds for `route` since `since` (as
    /// `renkei replay --since` takes it): the rows, or why not.
    std::function<std::variant<std::int64_t, std::string>(const std::string& route, const std::string& since,
                                                          const std::string& who)>
        replay;
    /// Sends a dead letter again; the rows changed (logged as `who`).
    std::function<std::int64_t(const std::string& batch, const std::string& who)> resubmit;
    /// {"files":[…]}: the files each file route took in lately (name, state,
    /// when, why it failed), newest first.
    std::function<std::string()> files;
    /// Has `file` of `route` taken in again under the config in force (as
    /// `renkei reprocess`): what will happen, or why not (HTTP status and a
    /// sentence).
    std::function<std::pair<int, std::string>(const std::string& route, const std::string& file,
                                              const std::string& who)>
        reprocess;
    /// Has the held records of `emitter` (and `route`, when not empty) taken
    /// again (as `renkei held resubmit`): how many.
    std::function<std::int64_t(const std::string& emitter, const std::string& route, const std::string& who)>
        heldResubmit;
  };
  /// Throws std::runtime_error (address in use, bad certificate …).
  /// `store`: where the operators are (when the config has groups).
  AdminServer(const AdminConfig& config, pipeline::MetricsRegistry& metrics, const AdminPages& pages, Health health,
              const store::StoreConfig& store, Backend backend = {});
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
