// The engine seam: HostServices::emit of every plugin instance.
#include "pipeline/seam.h"

#include "pipeline/batch_format.h"
#include "state_store.h"

namespace renkei::pipeline {

Seam::Seam(Shared& shared, const store::StoreConfig& config) : shared_(shared), store_(store::openStore(config)) {}

Seam::~Seam() { close(); }

void Seam::close() {
  open_ = false;
  std::lock_guard<std::mutex> lock(mutex_);
  store_.reset();
}

Outcome Seam::emit(const std::string& emitter, const Emission& emission) {
  if (!open_) return Outcome::retry("the host is not running yet (emit once start() has returned)");
  if (shared_.gone) return Outcome::error("the host is stopping: its store is gone");
  if (auto bad = checkEmission(emission); !bad.empty()) return Outcome::error(bad);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!store_) return Outcome::retry("the host is stopping");
  try {
    if (store_->emitted(emitter, emission.key)) {  // seen before: acknowledged, nothing again
      for (Route& route : shared_.routes)
        if (route.emitter == emitter)
          for (const RecordSet& set : emission.sets)
            if (set.recordType == route.recordType) {
              ++route.stats->emissionsSeen;
              break;
            }
      return Outcome::ok();
    }
    // Back-pressure: a route taking these records whose outbox is full.
    for (Route& route : shared_.routes) {
      if (route.emitter != emitter) continue;
      bool takes = false;
      for (const RecordSet& set : emission.sets) takes = takes || set.recordType == route.recordType;
      if (takes && store_->outboxDepth(route.config->id) > shared_.config.maxOutboxRecords) {
        if (!route.paused) {
          route.paused = true;
          ++route.stats->pauses;
          shared_.logger.notice("route %s: outbox holds more than %s records; %s waits", route.config->id,
                         std::to_string(shared_.config.maxOutboxRecords), emitter);
        }
        return Outcome::retry("route '" + route.config->id + "': the outbox is full; emit again later");
      }
      route.paused = false;
    }
    SetCounts counts;
    store::UnitCommit commit;
    commit.emitter = emitter;
    commit.key = emission.key;
    commit.groups = batchesForSets(shared_.routes, emitter, emitter, sha256Hex(emitter + "\n" + emission.key),
                                             emission.sets, shared_.config.batchRecords, counts, shared_.logger);
    if (emission.state) commit.extra = [&](store::SqlDatabase& db) { withStateSession(db, emission.state); };
    shared_.fault("before-emit-commit");
    const auto t0 = std::chrono::steady_clock::now();
    const bool fresh = store_->commitUnit(commit);
    shared_.metrics.histogram("renkei_store_commit_seconds", "Time of one intake commit to the store")
        .observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (Route& route : shared_.routes) {
      if (route.emitter != emitter) continue;
      bool takes = false;
      for (const RecordSet& set : emission.sets) takes = takes || set.recordType == route.recordType;
      if (takes) ++(fresh ? route.stats->emissions : route.stats->emissionsSeen);
    }
    if (fresh) {
      for (const auto& g : commit.groups) shared_.countStored(g);
      shared_.countSets(emitter, counts);
      shared_.notifyDelivery();
    }
    return Outcome::ok();
  } catch (const store::StoreGone& e) {
    return Outcome::error(std::string("store: ") + e.what());
  } catch (const std::exception& e) {
    return Outcome::retry(std::string("store: ") + e.what());
  }
}

}  // namespace renkei::pipeline
