// The engine seam: HostServices::emit of every plugin instance.
#include "pipeline/seam.h"

#include "json_lines.h"
#include "pipeline/batch_format.h"
#include "pipeline/record_sets.h"
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
    commit.held = std::move(counts.held);
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

std::size_t Seam::resubmitHeld() {
  if (!open_ || shared_.gone) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!store_) return 0;
  std::size_t taken = 0;
  try {
    const std::vector<store::HeldRecord> rows = store_->resubmitRequests(2000);
    std::size_t at = 0;
    while (at < rows.size()) {
      // One group: the same emitter, route and record type.
      std::size_t end = at;
      while (end < rows.size() && rows[end].emitter == rows[at].emitter && rows[end].route == rows[at].route &&
             rows[end].recordType == rows[at].recordType)
        ++end;
      const store::HeldRecord& first = rows[at];
      store::UnitCommit commit;
      commit.emitter = first.emitter;
      commit.key = "held-resubmit:" + std::to_string(first.id) + "-" + std::to_string(rows[end - 1].id) + "@" +
                   first.changedAt;
      RecordSet set{first.recordType, {}};
      std::vector<std::int64_t> ids;  // by record number in `set`, from 1
      for (std::size_t i = at; i < end; ++i) {
        const store::HeldRecord& h = rows[i];
        auto names = parseNameArray(h.fields);
        std::vector<Record> records;
        // Said once, however often it is asked for again (no growing reasons).
        const auto keep = [&](const std::string& why) {
          commit.heldAgain.push_back({h.id, h.reasons.rfind(why, 0) == 0 ? h.reasons : why + "; " + h.reasons, ""});
        };
        if (sealedAtRest(h.record)) {
          keep("sealed at rest to the receiving zone: only its source can send it again");
          continue;
        }
        if (!names || parseJsonArrays(h.record + "\n", std::make_shared<const FieldNames>(*names), records) ||
            records.size() != 1) {
          keep("unreadable in the store");
          continue;
        }
        set.records.push_back(std::move(records.front()));
        ids.push_back(h.id);
      }
      SetCounts counts;
      if (!set.records.empty())
        appendBatchesForSet(shared_.routes, first.emitter, first.emitter, sha256Hex(first.emitter + "\n" + commit.key),
                            set, shared_.config.batchRecords, counts, shared_.logger, commit.groups, 0, first.route);
      // Rejected again: the held row now belongs to the route that rejected
      // it; a second route rejecting the same record gets a held row of its
      // own (each route takes it again alone, nothing twice).
      std::vector<bool> again(ids.size(), false);
      for (store::HeldRecord& h : counts.held) {
        const auto n = static_cast<std::size_t>(h.number);
        if (n < 1 || n > ids.size()) continue;
        if (!again[n - 1]) {
          again[n - 1] = true;
          commit.heldAgain.push_back({ids[n - 1], h.reasons, h.route});
        } else {
          commit.held.push_back(std::move(h));
        }
      }
      for (std::size_t i = 0; i < ids.size(); ++i)
        if (!again[i]) commit.heldResolved.push_back(ids[i]);
      store_->commitUnit(commit);
      for (const auto& g : commit.groups) shared_.countStored(g);
      shared_.logger.notice("held records of %s (%s, route %s) taken again: %s taken, %s held again",
                            first.emitter, first.recordType, first.route.empty() ? std::string("none") : first.route,
                            std::to_string(commit.heldResolved.size()), std::to_string(commit.heldAgain.size()));
      taken += commit.heldResolved.size();
      at = end;
    }
    if (taken) shared_.notifyDelivery();
  } catch (const std::exception& e) {
    shared_.logger.error("held records: taking them again failed: %s", std::string(e.what()));
  }
  return taken;
}

}  // namespace renkei::pipeline
