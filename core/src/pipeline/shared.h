// What the pipeline's parts (file intake, the engine seam, delivery) share:
// the config, the routes and their counters, the payload cache, the wake-up
// between intake and delivery, problems for the summary, the store's health
// and fault injection. Owned by the host; outlives the parts.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <Poco/Logger.h>

#include "config.h"
#include "pipeline/metrics.h"
#include "pipeline/payload_cache.h"
#include "pipeline/record_sets.h"
#include "pipeline/routes.h"
#include "store/store.h"

namespace renkei::pipeline {

/// A worker loop's last sign of life (steady clock, ms), for the systemd
/// watchdog: a loop that stops coming round (a call that never returns)
/// lets the watchdog restart the process.
struct Heartbeat {
  std::atomic<std::int64_t> ms{now()};
  void beat() { ms = now(); }
  static std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};

class Shared {
 public:
  Shared(const HostConfig& config, Poco::Logger& logger, std::string hostId, MetricsRegistry& metrics);

  const HostConfig& config;
  Poco::Logger& logger;
  const std::string hostId;
  MetricsRegistry& metrics;

  // Built by the host before anything runs; not resized afterwards.
  std::vector<RouteStats> stats;
  std::vector<Route> routes;
  std::map<std::string, Route*> routeById;
  std::vector<std::string> routeIds;
  std::vector<std::string> pushTargets;  ///< targets delivery serves (not subscriptions)

  PayloadCache cache{64u << 20};

  // Intake → delivery: committed batches, or intake finished.
  std::mutex wakeMutex;
  std::condition_variable deliveryWake;
  std::atomic<bool> intakeFinished{false};
  /// Delivery workers count on a route's stats under this (one per target).
  std::mutex deliveryStatsMutex;
  /// Counts notifications (under wakeMutex): a delivery worker that read
  /// it before looking for work sleeps only while it is unchanged, so a
  /// batch committed between its look and its sleep is not left waiting
  /// for the next time-out (an event's way to a display's subscriber).
  std::uint64_t deliveryGeneration = 0;
  void notifyDelivery() {
    {
      std::lock_guard<std::mutex> lock(wakeMutex);
      ++deliveryGeneration;
    }
    deliveryWake.notify_all();
  }
  std::uint64_t deliveryGenerationNow() {
    std::lock_guard<std::mutex> lock(wakeMutex);
    return deliveryGeneration;
  }

  /// A problem line for the route's summary (at most 100 per route).
  void problem(RouteStats& stats, const std::string& text, const std::string& batchId = {},
               const std::string& target = {});
  /// Fault injection for the crash tests (docs/testing.md): SIGKILL when
  /// RENKEI_FAULT names `point`.
  void fault(const char* point) const;
  bool faultIs(const char* point) const { return faultPoint_ == point; }

  /// Checks that the store is still the one opened; on StoreGone records
  /// why, logs it once and makes every loop stop (gone). A store that does
  /// not answer makes it return false too, logged once when it stops and
  /// once when it answers again (`down` is shared by the connections of one
  /// kind of work, so several workers log once).
  bool storePresent(store::Store& store, std::atomic<bool>& down, const char* who);
  std::atomic<bool> gone{false};
  std::atomic<bool> intakeDown{false}, deliveryDown{false};
  std::string fatal() const;

  /// A route's intake is done by one worker at a time.
  bool acquire(Route& route);
  void release(Route& route);

  /// Counts a committed group of batches on its route.
  void countStored(const store::RoutedBatches& group);
  /// Counts an emitter's records no route took, or a mapping rejected.
  void countSets(const std::string& emitter, const SetCounts& counts);

 private:
  mutable std::mutex problemsMutex_;
  std::string fatal_;
  std::string faultPoint_;
  std::mutex busyMutex_;
  std::set<const Route*> busy_;
};

}  // namespace renkei::pipeline
