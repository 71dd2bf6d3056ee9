// The pipeline's shared state.
#include "pipeline/shared.h"

#include <signal.h>

#include <cstdlib>

namespace renkei::pipeline {

Shared::Shared(const HostConfig& config_, Poco::Logger& logger_, std::string hostId_, MetricsRegistry& metrics_)
    : config(config_), logger(logger_), hostId(std::move(hostId_)), metrics(metrics_) {
  // Fault injection for the crash tests (docs/testing.md): the process kills
  // itself with SIGKILL at the named point, exactly as an operator's kill -9.
  if (const char* f = std::getenv("RENKEI_FAULT")) faultPoint_ = f;
}

void Shared::problem(RouteStats& s, const std::string& text, const std::string& batchId, const std::string& target) {
  std::lock_guard<std::mutex> lock(problemsMutex_);
  if (s.problems.size() < 100) s.problems.push_back({text, store::nowMs(), batchId, target});
}

void Shared::fault(const char* point) const {
  if (!faultPoint_.empty() && faultPoint_ == point) {
    logger.warning("fault injection: SIGKILL at '%s'", std::string(point));
    ::raise(SIGKILL);
  }
}

std::string Shared::fatal() const {
  std::lock_guard<std::mutex> lock(problemsMutex_);
  return fatal_;
}

bool Shared::storePresent(store::Store& store, std::atomic<bool>& down, const char* who) {
  if (gone) return false;
  try {
    store.verify();
  } catch (const store::StoreGone& e) {
    std::lock_guard<std::mutex> lock(problemsMutex_);
    if (!gone.exchange(true)) {
      fatal_ = e.what();
      logger.critical("store: %s", fatal_);
    }
    return false;
  } catch (const std::exception& e) {
    if (!down.exchange(true)) {
      logger.error("store: %s; %s waits until the store answers", std::string(e.what()), std::string(who));
      if (!stats.empty()) problem(stats.front(), std::string("store: ") + e.what());
    }
    return false;
  }
  if (down.exchange(false)) logger.notice("store: answering again; %s goes on", std::string(who));
  return true;
}

bool Shared::acquire(Route& route) {
  std::lock_guard<std::mutex> lock(busyMutex_);
  return busy_.insert(&route).second;
}

void Shared::release(Route& route) {
  std::lock_guard<std::mutex> lock(busyMutex_);
  busy_.erase(&route);
}

void Shared::countStored(const store::RoutedBatches& group) {
  if (group.batches.empty()) return;
  auto it = routeById.find(group.batches.front().route);
  if (it == routeById.end()) return;
  for (const auto& b : group.batches) it->second->stats->recordsStored += static_cast<std::uint64_t>(b.records);
  it->second->stats->batchesStored += group.batches.size();
}

void Shared::countSets(const std::string& emitter, const SetCounts& counts) {
  const MetricLabels labels{{"plugin", emitter}};
  if (counts.unrouted)
    metrics.counter("renkei_emitted_unrouted_total", "Emitted records of a type no route takes", labels)
        .add(static_cast<double>(counts.unrouted));
  if (counts.rejected)
    metrics.counter("renkei_emitted_rejected_total", "Emitted records a route's mapping rejected", labels)
        .add(static_cast<double>(counts.rejected));
}

}  // namespace renkei::pipeline
