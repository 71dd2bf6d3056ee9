// The host: plugin instances built from a checked config, and the routes that
// move intake from sources to sinks and modules.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
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

/// Counters of one route since the host started.
struct RouteStats {
  std::string id;
  std::string from;
  std::vector<std::string> to;
  std::uint64_t filesClaimed = 0;
  std::uint64_t filesRecovered = 0;
  std::uint64_t filesDone = 0;
  std::uint64_t filesFailed = 0;     ///< moved to error/
  std::uint64_t filesPending = 0;    ///< still claimed, delivery to retry
  std::uint64_t filesDuplicate = 0;  ///< same content as a file already processed: not processed again
  std::uint64_t records = 0;         ///< records delivered (to every target)
  std::uint64_t rejected = 0;        ///< records a mapping rejected (in rejects/)
  std::uint64_t skipped = 0;         ///< records a mapping skipped
  std::uint64_t warnings = 0;
  std::uint64_t batches = 0;
  std::vector<std::string> problems; ///< one line each, no personal values
};

class Host {
 public:
  /// `config` must have passed checkConfig without problems and must outlive
  /// the host, as must `registry`.
  Host(const HostConfig& config, PluginRegistry& registry, Poco::Logger& logger, store::Store* store = nullptr);
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  /// Creates and configures every instance, starts modules, and collects the
  /// items earlier processes left claimed. Throws HostStartError listing every
  /// instance that failed.
  void start();

  /// One pass over every route: recovered and retried items first, then
  /// everything waiting. Returns when nothing is waiting or `stop` is set
  /// (the item in hand is finished first). Thread: one caller at a time.
  void runPass(const std::atomic<bool>& stop);

  /// Stops modules and destroys instances (also done by the destructor).
  void shutdown();

  const std::vector<RouteStats>& stats() const { return stats_; }

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
    std::deque<Intake> pending;  ///< recovered or waiting for a retry
    RouteStats* stats = nullptr;
    std::shared_ptr<const FieldNames> names;  ///< the mapping's target fields, or {"line"}
  };

  /// Processes one claimed item to the end (a stop request waits for it);
  /// returns false if it stays claimed for a retry.
  bool process(Route& route, const Intake& item);
  /// The same for a route with a mapping: the file is read once to check it
  /// as a whole, then mapped and delivered; rejects go to the source.
  bool processMapped(Route& route, const Intake& item);
  bool deliverBatch(Route& route, const Intake& item, Batch& batch);
  /// Delivers `batch` (if not empty) under the deterministic id for its
  /// number, then empties it.
  bool flushBatch(Route& route, const Intake& item, const std::string& sha, std::size_t& sequence, Batch& batch,
                  std::uint64_t& delivered);
  /// Moves a delivered item to done/ and counts it.
  bool completeItem(Route& route, const Intake& item, std::uint64_t delivered, const std::string& sha);
  /// Registers the item's content; returns true when it was already
  /// processed (then it is moved to done/ without delivering), false to go on.
  /// Sets `stop` when the store cannot be written (the item stays claimed).
  bool alreadyProcessed(Route& route, const Intake& item, const std::string& sha, bool& stop);
  bool failItem(Route& route, const Intake& item, const std::string& reason);
  void fault(const char* point) const;

  const HostConfig& config_;
  PluginRegistry& registry_;
  Poco::Logger& logger_;
  store::Store* store_;
  std::map<std::string, HostContext> contexts_;
  std::map<std::string, std::unique_ptr<Connector>> connectors_;
  std::map<std::string, std::unique_ptr<Module>> modules_;
  std::vector<Route> routes_;
  std::vector<RouteStats> stats_;
  std::string faultPoint_;
  bool started_ = false;
};

}  // namespace renkei
