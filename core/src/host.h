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

/// Counters of one route since the host started. Intake fields are written
/// by the intake thread, delivery fields by the delivery thread; read them
/// after run() returns.
struct RouteStats {
  std::string id;
  std::string from;
  std::vector<std::string> to;
  // intake
  std::uint64_t filesClaimed = 0;
  std::uint64_t filesRecovered = 0;  ///< found in processing/ (an earlier run stopped) and taken in again
  std::uint64_t filesDone = 0;
  std::uint64_t filesFailed = 0;     ///< moved to error/
  std::uint64_t filesPending = 0;    ///< still claimed at the end (store or folder trouble, or stopped)
  std::uint64_t filesDuplicate = 0;  ///< same content as a file already taken in: not again
  std::uint64_t filesBusy = 0;       ///< in processing/ under another host's lease: left to it
  std::uint64_t recordsStored = 0;   ///< accepted records written to the store (once per record)
  std::uint64_t batchesStored = 0;
  std::uint64_t rejected = 0;        ///< records a mapping rejected (in rejects/)
  std::uint64_t skipped = 0;         ///< records a mapping skipped
  std::uint64_t warnings = 0;
  std::uint64_t pauses = 0;          ///< times intake waited for a deep outbox (back-pressure)
  // delivery (per target: a batch to two targets counts twice)
  std::uint64_t records = 0;         ///< records delivered
  std::uint64_t batches = 0;         ///< batches delivered
  std::uint64_t retries = 0;         ///< failed attempts that will be retried
  std::uint64_t deadLetters = 0;     ///< batches that went to the dead letters in this run
  std::vector<std::string> problems; ///< one line each, no personal values
};

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
  std::string storeDescription() const;
  /// Why the host stopped on its own (the store's file removed or replaced
  /// while it ran), or "" when it did not.
  std::string fatal() const;
  /// True while the store does not answer (intake or delivery waiting).
  bool storeUnavailable() const { return intakeDown_ || deliveryDown_; }
  /// The API's port once started (0 without <api>).
  int apiPort() const;

 private:
  struct Target {
    std::string id;
    Sink* sink = nullptr;
    Module* module = nullptr;
  };
  struct Route {
    const RouteConfig* config = nullptr;
    Source* source = nullptr;
    std::vector<Target> targets;
    std::vector<std::string> targetIds;
    RouteStats* stats = nullptr;
    std::shared_ptr<const FieldNames> names;  ///< the mapping's target fields, or {"line"}
    std::string fieldsJson;                   ///< the same as a JSON array (stored with each batch)
    std::set<std::string> leftToOthers;       ///< recovered items another host holds (logged once)
    bool paused = false;                      ///< intake waits for the outbox (logged once per pause)
  };
  enum class Taken { Done, Left, Stopped };

  /// One pass of intake over every route; returns true if anything was claimed.
  bool intakePass(const std::atomic<bool>& stop);
  /// Takes one claimed item into the store to the end (or until `stop`).
  Taken take(Route& route, const Intake& item, const std::atomic<bool>& stop);
  /// Writes the batches of `group` (and empties it); waits while the
  /// route's outbox is deeper than allowed. False when the store failed.
  bool commit(Route& route, const Intake& item, const std::string& sha, std::vector<store::BatchRow>& group,
              const std::atomic<bool>& stop, bool last);
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
  std::unique_ptr<ApiServer> api_;  ///< the window-system interface, when the config has <api>
  std::map<std::string, std::unique_ptr<InstanceServices>> services_;  ///< outlive the instances using them
  std::vector<std::string> pushTargets_;  ///< targets the delivery thread serves (not subscriptions)
  std::map<std::string, HostContext> contexts_;
  std::map<std::string, std::unique_ptr<Connector>> connectors_;
  std::map<std::string, std::unique_ptr<Module>> modules_;
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
    bool submit(Route& route, std::vector<store::BatchRow> group, std::string& error);
    /// Waits until every group handed over is committed; false on failure.
    bool drain(std::string& error);

   private:
    void loop();
    Host& host_;
    std::mutex mutex_;
    std::condition_variable changed_;
    Route* route_ = nullptr;
    std::vector<store::BatchRow> pending_;
    bool busy_ = false;
    bool quit_ = false;
    std::string error_;
    std::thread thread_;
  };

  /// A stored batch for delivery: from the cache, else from the store.
  std::shared_ptr<const StoredBatch> loadBatch(const std::string& batchId);

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
