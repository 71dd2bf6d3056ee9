// Delivery: leases due outbox rows, hands each batch to its sink or module,
// and records the outcome (delivered, a retry with backoff, a dead letter).
#include "pipeline/delivery.h"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "json_lines.h"
#include "pipeline/batch_format.h"

namespace renkei::pipeline {
namespace {
// Deliveries leased at once by the delivery thread.
constexpr std::size_t kDeliveriesPerClaim = 8;
}  // namespace

Delivery::Delivery(Shared& shared, const store::StoreConfig& config, std::vector<std::string> targets, bool housekeeper)
    : shared_(shared), store_(store::openStore(config)), targets_(std::move(targets)), housekeeper_(housekeeper) {}

Delivery::~Delivery() = default;

std::shared_ptr<const StoredBatch> Delivery::loadBatch(const std::string& batchId) {
  if (auto cached = shared_.cache.take(batchId)) return cached;
  auto stored = store_->batch(batchId);
  if (!stored) return nullptr;
  ++storeReads_;
  auto batch = std::make_shared<StoredBatch>();
  auto& names = storedNames_[stored->fields];
  if (!names) {
    auto parsed = parseNameArray(stored->fields);
    if (!parsed) return nullptr;
    names = std::make_shared<const FieldNames>(std::move(*parsed));
  }
  batch->names = names;
  batch->payload = std::move(stored->payload);
  batch->recordType = std::move(stored->recordType);
  batch->zone = std::move(stored->zone);
  return batch;
}

std::chrono::milliseconds Delivery::backoff(int attempt) {
  // Exponential with "equal jitter": half the step fixed, half random, so
  // hosts retrying the same far side spread out.
  static thread_local std::mt19937_64 random{std::random_device{}()};
  double step = static_cast<double>(shared_.config.retryInitial.count());
  for (int i = 1; i < attempt && step < static_cast<double>(shared_.config.retryMax.count()); ++i) step *= 2;
  step = std::min(step, static_cast<double>(shared_.config.retryMax.count()));
  std::uniform_real_distribution<double> jitter(0.0, step / 2);
  return std::chrono::milliseconds(static_cast<std::int64_t>(step / 2 + jitter(random)));
}

Delivery::Attempt Delivery::deliver(const store::Delivery& d) {
  auto it = shared_.routeById.find(d.route);
  if (it == shared_.routeById.end()) return Attempt::Retry;
  Route& route = *it->second;
  const Target* target = nullptr;
  for (const Target& t : route.targets)
    if (t.id == d.target) target = &t;
  Outcome o = Outcome::error("the route no longer delivers to '" + d.target + "'");
  if (target) {
    Batch batch;
    batch.id = d.batchId;
    batch.route = d.route;
    batch.sourceItem = d.sourceItem;
    batch.recordCount = static_cast<std::size_t>(d.records);
    batch.fieldPii = route.fieldPii;
    auto stored = loadBatch(d.batchId);
    if (stored) {
      batch.recordType = stored->recordType;
      batch.zone = stored->zone;
      batch.fieldNames = stored->names;
    }
    const bool needsRecords = target->module || target->sink->needsRecords();
    std::optional<std::string> bad;
    std::string objects;
    if (!stored) {
      bad = "the batch is not in the store";
    } else if (sealedAtRest(stored->payload)) {
      // Only the far zone opens it: the sink that sealing key belongs to.
      if (!target->sink || target->sink->sealingKey().empty())
        bad = "the batch is stored sealed, and '" + d.target + "' is not a sink that carries sealed batches";
      else
        batch.sealedPayload = std::string_view(stored->payload).substr(7);
    } else {
      bad = expandJsonArrays(stored->payload, *stored->names, objects);
      batch.jsonLines = objects;
      if (!bad && needsRecords) {
        batch.records.reserve(batch.recordCount);
        bad = parseJsonArrays(stored->payload, stored->names, batch.records);
      }
    }
    if (bad) {
      o = Outcome::error("stored batch unusable: " + *bad);
    } else {
      try {
        o = target->sink ? target->sink->deliver(batch) : target->module->accept(batch);
      } catch (const std::exception& e) {
        o = Outcome::error(std::string("the plugin threw: ") + e.what());
      }
    }
  }
  const std::int64_t now = store::nowMs();
  const int attempt = d.attempts + 1;
  const MetricLabels labels{{"route", d.route}, {"target", d.target}};
  if (o.isOk()) {
    shared_.fault("after-deliver");
    {
      std::lock_guard<std::mutex> lock(shared_.deliveryStatsMutex);  // a route's targets are served apart
      route.stats->records += static_cast<std::uint64_t>(d.records);
      ++route.stats->batches;
    }
    shared_.metrics.counter("renkei_records_delivered_total", "Records delivered to a target", labels)
        .add(static_cast<double>(d.records));
    shared_.metrics.counter("renkei_batches_delivered_total", "Batches delivered to a target", labels).add();
    return Attempt::Delivered;  // recorded by the caller, with the others of its claim
  }
  const bool dead = o.status() == Outcome::Status::Error || attempt >= shared_.config.maxAttempts;
  const std::int64_t next = dead ? now : now + backoff(attempt).count();
  store_->markFailed(d.batchId, d.target, shared_.hostId, next, dead, o.message());
  shared_.metrics.counter(dead ? "renkei_batches_dead_total" : "renkei_delivery_retries_total",
                   dead ? "Batches that became dead letters" : "Failed deliveries that will be retried", labels)
      .add();
  if (dead) {
    {
      std::lock_guard<std::mutex> lock(shared_.deliveryStatsMutex);
      ++route.stats->deadLetters;
    }
    shared_.problem(*route.stats, "batch " + d.batchId + " to " + d.target + " is a dead letter after " +
                              std::to_string(attempt) + (attempt == 1 ? " attempt: " : " attempts: ") + o.message(),
                    d.batchId, d.target);
    shared_.logger.error("route %s: batch %s to %s is a dead letter after %d attempts: %s ('renkei deadletters' to "
                  "resubmit)",
                  d.route, d.batchId, d.target, attempt, o.message());
  } else {
    {
      std::lock_guard<std::mutex> lock(shared_.deliveryStatsMutex);
      ++route.stats->retries;
    }
    shared_.logger.warning("route %s: delivery of batch %s to %s failed (attempt %d of %d): %s; retry in %s ms", d.route,
                    d.batchId, d.target, attempt, shared_.config.maxAttempts, o.message(), std::to_string(next - now));
  }
  return dead ? Attempt::Dead : Attempt::Retry;
}

void Delivery::loop(const std::atomic<bool>& stop, bool once) {
  const std::int64_t leaseMs = shared_.config.lease.count();
  int sinceCheckpoint = 0;
  std::int64_t nextPrune = 0;
  auto checkpoint = [&] {
    try {
      store_->maintain();
    } catch (const std::exception& e) {
      shared_.logger.warning("store: housekeeping failed: %s", std::string(e.what()));
    }
  };
  while (!stop && !shared_.gone) {
    heartbeat.beat();
    if (!shared_.storePresent(*store_, shared_.deliveryDown, "delivery")) {
      if (shared_.gone || (once && shared_.intakeFinished)) break;
      std::unique_lock<std::mutex> lock(shared_.wakeMutex);
      shared_.deliveryWake.wait_for(lock, std::chrono::seconds(1));
      continue;
    }
    const std::uint64_t seen = shared_.deliveryGenerationNow();
    std::vector<store::Delivery> work;
    try {
      if (!targets_.empty())
        work = store_->claimDeliveries(shared_.hostId, leaseMs, kDeliveriesPerClaim, shared_.routeIds, targets_);
    } catch (const std::exception& e) {
      if (!shared_.routes.empty()) shared_.problem(*shared_.routes.front().stats, std::string("store: ") + e.what());
      shared_.logger.error("delivery: store: %s", std::string(e.what()));
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    std::vector<std::pair<std::string, std::string>> delivered, untried;
    std::set<std::pair<std::string, std::string>> waiting;  // queues whose earlier batch waits for a retry
    for (const store::Delivery& d : work) {
      if (stop) break;  // leased rows go back to the pool at shutdown
      const auto queue = std::make_pair(d.route, d.target);
      if (waiting.count(queue)) {
        untried.emplace_back(d.batchId, d.target);  // keeps the target's order
        continue;
      }
      heartbeat.beat();
      try {
        switch (deliver(d)) {
          case Attempt::Delivered: delivered.emplace_back(d.batchId, d.target); break;
          case Attempt::Retry: waiting.insert(queue); break;
          case Attempt::Dead: break;  // a dead letter does not hold the rest back
        }
      } catch (const std::exception& e) {
        shared_.logger.error("delivery of batch %s: store: %s", d.batchId, std::string(e.what()));
        waiting.insert(queue);
      }
    }
    // One commit for the claim: a crash before it delivers these again,
    // which their targets absorb (idempotent on the batch id).
    try {
      store_->markDelivered(delivered, shared_.hostId);
      store_->releaseLeases(untried, shared_.hostId);
    } catch (const std::exception& e) {
      shared_.logger.error("delivery: store: %s (the batches will be delivered again)", std::string(e.what()));
    }
    if (!work.empty()) {
      shared_.notifyDelivery();  // intake may be waiting for the outbox to drain
      if (housekeeper_ && ++sinceCheckpoint >= 8) {
        sinceCheckpoint = 0;
        checkpoint();
      }
      continue;
    }
    if (housekeeper_) checkpoint();
    // Idle: delivered batches past their retention go (a few at a time).
    if (housekeeper_ && store::nowMs() >= nextPrune) {
      nextPrune = store::nowMs() + 60'000;
      try {
        const std::int64_t pruned =
            store_->pruneDelivered(store::nowMs() - shared_.config.retainDelivered.count(), 500);
        if (pruned > 0) {
          shared_.logger.information("store: %s delivered batches older than the retention removed", std::to_string(pruned));
          nextPrune = 0;  // more may be waiting
        }
      } catch (const std::exception& e) {
        shared_.logger.warning("store: pruning failed: %s", std::string(e.what()));
      }
    }
    // Nothing due. With --once: done when intake is finished and nothing is
    // pending; else sleep until the next retry is due or intake wakes us.
    std::chrono::milliseconds wait = std::chrono::milliseconds(500);
    if (shared_.intakeFinished) {
      std::optional<std::int64_t> due;
      try {
        if (!targets_.empty()) due = store_->nextDue(shared_.routeIds, targets_);
      } catch (const std::exception& e) {
        shared_.logger.error("delivery: store: %s", std::string(e.what()));
      }
      if (!due && once) break;
      if (due) wait = std::chrono::milliseconds(std::clamp<std::int64_t>(*due - store::nowMs(), 1, 500));
    }
    std::unique_lock<std::mutex> lock(shared_.wakeMutex);
    shared_.deliveryWake.wait_for(lock, wait, [&] { return shared_.deliveryGeneration != seen || stop; });
  }
}

}  // namespace renkei::pipeline
