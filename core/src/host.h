// The host: plugin instances built from a checked config, and the durable
// pipeline that moves intake from sources through the store to sinks and
// modules.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <stdexcept>
#include <string>
#include <vector>

#include <Poco/Logger.h>

#include "config.h"
#include "pipeline/metrics.h"
#include "pipeline/record_sets.h"
#include "pipeline/routes.h"
#include "plugin_registry.h"
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
class ApiServer;
class InstanceServices;

class Host {
 public:
  /// `config` must have passed checkConfig without problems and must outlive
  /// the host, as must `registry`. `hostId` names this process among hosts
  /// sharing a store (leases); it must be stable across restarts of the same
  /// host, so a restarted host takes its own leased work back at once.
  Host(const HostConfig& config, PluginRegistry& registry, Poco::Logger& logger, std::string hostId);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// Opens the store (applying migrations), creates and configures every
  /// instance, starts modules, and takes back this host's leases. Throws
  /// HostStartError listing every instance that failed, or store::StoreError.
  void start();

  /// Runs intake (this thread) and delivery (a thread of its own) until
  /// `stop` is set; with `once`, until nothing is waiting and every batch
  /// taken in is delivered or a dead letter. A stop finishes the delivery in
  /// hand and drops the batches of a file not yet committed (the file stays
  /// claimed and is resumed by the next start). `wake` is notified with
  /// `stop`.
  void run(const std::atomic<bool>& stop, bool once, std::mutex& mutex, std::condition_variable& wake);

  /// Stops modules, releases leases and destroys instances (also done by the
  /// destructor).
  void shutdown();

  const std::vector<RouteStats>& stats() const { return stats_; }
  /// The host's metrics (routes, queues, the API, plugins), for /metrics.
  pipeline::MetricsRegistry& metrics() { return metrics_; }
  std::string storeDescription() const;
  /// Why the host stopped on its own (the store's file removed or replaced
  /// while it ran), or "" when it did not.
  std::string fatal() const;
  /// True while the store does not answer (intake or delivery waiting).
  bool storeUnavailable() const { return intakeDown_ || deliveryDown_; }
  /// The API's port once started (0 without <api>).
  int apiPort() const;
  /// The admin listener's port once started (0 without <admin>).
  int adminPort() const;

  /// The engine seam (HostServices::emit of instance `emitter`): maps the
  /// emission's sets for the routes that take them and commits them with
  /// the emitter's state in one transaction. Thread-safe.
  Outcome emit(const std::string& emitter, const Emission& emission);

 private:
  using Target = pipeline::Target;
  using Route = pipeline::Route;
  enum class Taken { Done, Left, Stopped };

  /// One pass of intake over every route; returns true if anything was claimed.
  bool intakePass(const std::atomic<bool>& stop);
  /// Takes one claimed item into the store to the end (or until `stop`).
  Taken take(Route& route, const Intake& item, const std::atomic<bool>& stop);
  /// Writes the batches of `group` (and empties it); waits while the
  /// route's outbox is deeper than allowed. False when the store failed.
  bool commit(Route& route, const Intake& item, const std::string& sha, std::vector<store::BatchRow>& group,
              const std::atomic<bool>& stop, bool last, bool staged);
  enum class Prepared { Go, Left, Failed, Withdrawn };
  /// Asks the item's source for what commits with it (Source::prepare).
  Prepared prepareUnit(Route& route, const Intake& item, const std::string& sha, ItemUnit& unit);
  /// Commits the item's staged batches with the source's unit and marks the
  /// item done, in one transaction. Throws store::StoreError.
  bool commitItemUnit(Route& route, const Intake& item, const std::string& sha, const ItemUnit& unit);
  void countStored(const store::RoutedBatches& group);
  void countSets(const std::string& emitter, const pipeline::SetCounts& counts);
  bool failItem(Route& route, const Intake& item, const std::string& sha, const std::string& reason);
  void deliveryLoop(const std::atomic<bool>& stop, bool once);
  enum class Attempt { Delivered, Retry, Dead };
  /// Hands one leased row to its target. Delivered: the caller records it
  /// (with the rest of its claim); a failure is recorded here.
  Attempt deliver(const store::Delivery& d);
  std::chrono::milliseconds backoff(int attempt);
  void problem(RouteStats& stats, const std::string& text);
  void fault(const char* point) const;

  const HostConfig& config_;
  PluginRegistry& registry_;
  Poco::Logger& logger_;
  std::string hostId_;
  store::StoreConfig storeConfig_;
  std::filesystem::path spool_;  ///< where intake copies files before reading them
  bool sharedStore_ = false;              ///< other hosts may work on the same store
  std::unique_ptr<store::Store> intakeStore_;
  std::unique_ptr<store::Store> deliveryStore_;
  std::unique_ptr<store::Store> writerStore_;  ///< the commit pipe's connection
  std::unique_ptr<store::Store> emitStore_;    ///< emit()'s connection (guarded by emitMutex_)
  std::mutex emitMutex_;
  std::atomic<bool> routesReady_{false};       ///< emit() refuses (Retry) until the routes are built
  std::unique_ptr<ApiServer> api_;  ///< the window-system interface, when the config has <api>
  std::unique_ptr<AdminServer> admin_;  ///< /metrics and /health, when the config has <admin>
  std::unique_ptr<store::Store> adminStore_;  ///< the metrics' queue depths (guarded by adminMutex_)
  std::mutex adminMutex_;
  /// Registers the pipeline's series (routes, queues) with metrics_.
  void registerMetrics();
  std::map<std::string, std::unique_ptr<InstanceServices>> services_;  ///< outlive the instances using them
  std::vector<std::string> pushTargets_;  ///< targets the delivery thread serves (not subscriptions)
  std::map<std::string, HostContext> contexts_;
  std::map<std::string, std::unique_ptr<Connector>> connectors_;
  std::map<std::string, std::unique_ptr<Module>> modules_;
  std::vector<Connector*> startedConnectors_;  ///< stopped in reverse at shutdown
  std::vector<Route> routes_;
  std::map<std::string, Route*> routeById_;
  std::vector<std::string> routeIds_;
  std::vector<RouteStats> stats_;
  /// Payloads intake has just committed, so delivery need not read them
  /// back from the store: bounded by bytes, oldest dropped first (delivery
  /// then reads the store). This and the one commit intake holds are the
  /// only records in memory.
  struct StoredBatch {
    std::shared_ptr<const FieldNames> names;
    std::string payload;  ///< JSON Lines of value arrays
    std::string recordType, zone;
  };
  class PayloadCache {
   public:
    explicit PayloadCache(std::size_t capacityBytes) : capacity_(capacityBytes) {}
    void put(const std::string& batchId, std::shared_ptr<const StoredBatch> batch, int uses);
    /// The batch, if still held; each take counts one use of it.
    std::shared_ptr<const StoredBatch> take(const std::string& batchId);

   private:
    struct Entry {
      std::shared_ptr<const StoredBatch> batch;
      int uses = 0;
    };
    std::mutex mutex_;
    std::map<std::string, Entry> entries_;
    std::deque<std::string> order_;
    std::size_t bytes_ = 0;
    std::size_t capacity_;
  };
  /// Commits intake's groups of batches on a thread of its own (with its
  /// own store connection), so mapping the next records overlaps the write
  /// and fsync of the previous ones. At most one group waits: memory stays
  /// bounded at two groups.
  class CommitPipe {
   public:
    explicit CommitPipe(Host& host) : host_(host) {}
    void start();
    void stop();
    /// Hands a group over; blocks while another waits. False when an
    /// earlier commit failed (the message is in `error`).
    bool submit(Route& route, std::vector<store::BatchRow> group, bool staged, std::string& error);
    /// Waits until every group handed over is committed; false on failure.
    bool drain(std::string& error);

   private:
    void loop();
    Host& host_;
    std::mutex mutex_;
    std::condition_variable changed_;
    Route* route_ = nullptr;
    std::vector<store::BatchRow> pending_;
    bool staged_ = false;
    bool busy_ = false;
    bool quit_ = false;
    std::string error_;
    std::thread thread_;
  };

  /// A stored batch for delivery: from the cache, else from the store.
  std::shared_ptr<const StoredBatch> loadBatch(const std::string& batchId);

  pipeline::MetricsRegistry metrics_;
  std::mutex problemsMutex_;
  /// Checks that the store is still the one opened; on StoreGone records
  /// why, logs it once and makes every loop stop. Returns false then.
  /// A store that does not answer (PostgreSQL restarting) makes it return
  /// false too, logged once when it stops and once when it answers again
  /// (`down` remembers which, per connection).
  bool storePresent(store::Store& store, std::atomic<bool>& down, const char* who);
  std::atomic<bool> gone_{false};
  std::atomic<bool> intakeDown_{false}, deliveryDown_{false};
  std::string fatal_;  ///< guarded by problemsMutex_
  PayloadCache cache_{64u << 20};
  std::map<std::string, std::shared_ptr<const FieldNames>> storedNames_;
  std::uint64_t storeReads_ = 0;
  std::chrono::steady_clock::duration storeWriteTime_{};  ///< commit pipe: time in appendBatches
  CommitPipe pipe_{*this};  ///< delivery thread: batches not found in the cache  ///< delivery thread: parsed `fields`
  std::mutex wakeMutex_;
  std::condition_variable deliveryWake_;  ///< intake committed batches, or intake finished
  std::atomic<bool> intakeFinished_{false};
  std::string faultPoint_;
  bool started_ = false;
};

}  // namespace renkei
