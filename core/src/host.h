// The host: plugin instances built from a checked config, and the durable
// pipeline (core/src/pipeline/) that moves records from sources and
// emitters through the store to sinks and modules.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Logger.h>

#include "admin_pages.h"
#include "admin_server.h"
#include "config.h"
#include "pipeline/metrics.h"
#include "renkei/support/worker.h"
#include "pipeline/routes.h"
#include "plugin_registry.h"
#include "problems.h"
#include "register_directory.h"
#include "renkei/connector.h"
#include "store/store.h"

namespace renkei {

/// Start-up failed (a plugin would not load or refused its settings).
/// Reported like a config error: exit status 2.
class HostStartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AdminServer;
namespace audit {
class Trail;
}
class ApiServer;
class InstanceServices;
namespace pipeline {
class Delivery;
class FileIntake;
class Seam;
class Shared;
}  // namespace pipeline

class Host {
 public:
  /// `config` must have passed checkConfig without problems and must outlive
  /// the host, as must `registry`. `hostId` names this process among hosts
  /// sharing a store (leases); it must be stable across restarts of the same
  /// host, so a restarted host takes its own leased work back at once.
  Host(const HostConfig& config, PluginRegistry& registry, Poco::Logger& logger, std::string hostId,
       bool once = false);
  /// The config the host runs (for subsystems that only report on it).
  const HostConfig& config() const { return config_; }
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// The host's parts after the store, in the order they start (and stop
  /// in reverse). The one ordering: `renkei serve` makes each a POCO
  /// subsystem (host_application), start() walks it for an embedded host.
  enum class Part { Store, Instances, Pipeline, Api, Admin };
  struct PartInfo {
    Part part;
    const char* name;       ///< the subsystem's name
    void (Host::*start)();  ///< starts it, recording its stops in its own list
    bool listener;          ///< opens a port: not started by `serve --once`
  };
  static const std::vector<PartInfo>& parts();

  /// The store, then every part in order. Throws HostStartError listing
  /// every instance that failed, or store::StoreError; on a throw, what had
  /// started is stopped.
  void start();

  /// Each part registers the stops of what it started in its own list;
  /// stopPart(p) stops them, in reverse.
  /// The store: its connections for intake workers, the seam and delivery.
  void startStore();
  /// The API server (not yet listening) and the plugin instances: configured,
  /// modules started.
  void startInstances();
  /// Routes, the engine seam, connectors that listen or emit, the metrics.
  void startPipeline();
  /// The window-system API's port (when the config has <api>).
  void startApi();
  /// The admin listener (when the config has <admin>).
  void startAdmin();
  /// Stops what part `p` started, in reverse (nothing when it started
  /// nothing, or was stopped already).
  void stopPart(Part p);

  /// Runs intake (a few worker threads; a route is taken by one worker at a
  /// time, so a slow route does not stall the others) and delivery (a worker per
  /// target up to delivery-threads, so a stuck target holds up only itself) until `stop` is set; with `once`, until nothing is waiting
  /// and every batch taken in is delivered or a dead letter. A stop finishes
  /// the delivery in hand and drops the batches of a file not yet committed
  /// (the file stays claimed and is resumed by the next start). `wake` is
  /// notified with `stop`.
  void run(const std::atomic<bool>& stop, bool once, std::mutex& mutex, std::condition_variable& wake);
  /// For the systemd watchdog: which intake or delivery worker has not come
  /// round its loop for more than `limitMs` (a call that never returns), or
  /// empty when every one has.
  std::string stalled(std::int64_t limitMs) const;

  /// Stops every part, the last started first, then the store (also done
  /// by the destructor).
  void shutdown();

  const std::vector<RouteStats>& stats() const;
  std::string storeDescription() const;
  /// Whether the batch's row for `target` is delivered now (a dead letter
  /// resubmitted and delivered while this host ran); false when unknown.
  bool deliveredNow(const std::string& batchId, const std::string& target) const;
  /// Why the host stopped on its own (the store's file removed or replaced
  /// while it ran), or "" when it did not.
  std::string fatal() const;
  /// True while the store does not answer (intake or delivery waiting).
  bool storeUnavailable() const;
  /// The API's port once started (0 without <api>).
  int apiPort() const;
  /// The admin listener's port once started (0 without <admin>).
  int adminPort() const;
  /// The host's metrics (routes, queues, the API, plugins), for /metrics.
  pipeline::MetricsRegistry& metrics() { return metrics_; }

 private:
  /// Runs `begin`; on success remembers `end` in part `p`'s stop list.
  void startPart(Part p, const std::function<void()>& begin, std::function<void()> end);
  void openStore();
  void buildInstances();
  void buildRoutes();
  /// How to stop a module or connector: a stop() that throws is logged, the
  /// other parts still stop.
  template <typename Instance>
  std::function<void()> stopQuietly(const char* what, Instance* instance) {
    return [this, what, instance] {
      try {
        instance->stop();
      } catch (const std::exception& e) {
        logger_.error("%s failed to stop: %s", std::string(what), std::string(e.what()));
      }
    };
  }
  /// The routes' queues as JSON, for the console (GET /api/v1/routes).
  std::string queuesJson();
  /// What the console reads and does here (routes, dead letters).
  AdminServer::Backend consoleBackend();
  /// Registers the pipeline's series (routes, queues) with metrics_.
  void registerMetrics();
  /// One intake worker's loop over the routes.
  void intakeLoop(pipeline::FileIntake& worker, const std::atomic<bool>& stop, bool once, std::mutex& mutex,
                  std::condition_variable& wake);
  [[noreturn]] void fail(const std::string& message);

  const HostConfig& config_;
  PluginRegistry& registry_;
  Poco::Logger& logger_;
  std::string hostId_;
  bool once_ = false;  ///< serve --once: plugins do not listen (HostContext::once)
  store::StoreConfig storeConfig_;
  std::filesystem::path spool_;  ///< where intake copies files before reading them
  pipeline::MetricsRegistry metrics_;
  std::unique_ptr<pipeline::Shared> shared_;
  /// What each part started, to stop in reverse (indexed by Part).
  std::array<std::vector<std::function<void()>>, 5> stops_;

  int servingLock_ = -1;  ///< <sqlite store>.serving, held shared while this host runs (a restore waits for none)
  Worker backups_;        ///< the <backup> schedule
  bool backupStaleSaid_ = false;
  std::int64_t startedMs_ = 0;
  std::int64_t backupRetryMs_ = 0;  ///< after a failed scheduled backup, none before this  ///< when the store opened (no backup yet: stale after max-age from here)
  /// One look at the schedule: a backup when its time of day has come and
  /// none was made since; the metrics and the alert either way.
  void backupPass();
  std::atomic<bool> backupFailing_{false};  ///< the last scheduled backup failed (a problem until one succeeds)
  /// The problem watch (<notify>): started by run() unless --once.
  Worker problemWorker_;
  std::unique_ptr<problems::Watch> problemWatch_;
  std::unique_ptr<store::Store> problemStore_;
  std::mutex problemsMutex_;
  std::vector<Problem> lastProblems_;  ///< the watch's last look, for the console (guarded by problemsMutex_)
  void problemPass();
  /// The certificates this host serves with: <api>, <admin> and the instances'.
  std::vector<CertificateFile> certificateFiles();
  std::unique_ptr<store::Store> controlStore_;  ///< leases at start and shutdown, the store's description
  /// The audit trail (<audit>): installed for writeAudit from the store's
  /// start until the last part stopped.
  std::unique_ptr<audit::Trail> audit_;
  std::unique_ptr<pipeline::Seam> seam_;
  /// Registers the instances offer one another (HostServices::registers).
  std::shared_ptr<RegisterDirectory> registers_ = std::make_shared<HostRegisterDirectory>();
  /// Assistants the instances offer one another (HostServices::assistants).
  std::shared_ptr<AssistantDirectory> assistants_ = std::make_shared<HostAssistantDirectory>();
  std::vector<std::unique_ptr<pipeline::Delivery>> deliveries_;  ///< one per target up to delivery-threads
  std::vector<std::unique_ptr<pipeline::FileIntake>> workers_;
  std::unique_ptr<ApiServer> api_;      ///< the window-system interface, when the config has <api>
  AdminPages adminPages_;  ///< pages plugins add (HostServices::admin), served by admin_
  std::unique_ptr<AdminServer> admin_;  ///< /metrics and /health, when the config has <admin>
  std::unique_ptr<store::Store> adminStore_;  ///< the metrics' queue depths (guarded by adminMutex_)
  std::vector<MetricLabels> heldLabels_;  ///< label sets of renkei_held_records set before (guarded by adminMutex_)
  std::vector<std::string> refusalSources_;  ///< connectors with refusals seen (their gauge reads 0 once acknowledged)
  std::mutex adminMutex_;
  std::map<std::string, std::unique_ptr<InstanceServices>> services_;  ///< outlive the instances using them
  std::map<std::string, HostContext> contexts_;
  std::map<std::string, std::unique_ptr<Connector>> connectors_;
  std::map<std::string, std::unique_ptr<Module>> modules_;
};

}  // namespace renkei
