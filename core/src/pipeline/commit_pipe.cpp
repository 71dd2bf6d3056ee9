// The commit pipe of one intake worker.
#include "pipeline/commit_pipe.h"

namespace renkei::pipeline {

void CommitPipe::start() {
  quit_ = false;
  thread_ = std::thread([this] { loop(); });
}

void CommitPipe::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool CommitPipe::submit(Route& route, std::vector<store::BatchRow> group, bool staged, std::string& error) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !busy_ || !error_.empty(); });
  if (!error_.empty()) {
    error = error_;
    return false;
  }
  route_ = &route;
  pending_ = std::move(group);
  staged_ = staged;
  busy_ = true;
  changed_.notify_all();
  return true;
}

bool CommitPipe::drain(std::string& error) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !busy_ || !error_.empty(); });
  if (error_.empty()) return true;
  error = error_;
  error_.clear();  // reported once; the next file starts clean
  busy_ = false;
  return false;
}

void CommitPipe::loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return quit_ || (busy_ && error_.empty()); });
    if (!busy_ || !error_.empty()) {
      if (quit_) return;
      continue;
    }
    std::vector<store::BatchRow> group = std::move(pending_);
    Route& route = *route_;
    const bool staged = staged_;
    lock.unlock();
    std::string failure;
    try {
      const auto t0 = std::chrono::steady_clock::now();
      // Staged batches get no outbox rows yet: they become deliverable with
      // the rest of their unit (FileIntake::commitItemUnit).
      static const std::vector<std::string> none;
      writer_.appendBatches(group, staged ? none : route.targetIds, shared_.hostId, shared_.config.lease.count());
      const auto took = std::chrono::steady_clock::now() - t0;
      writeTime_ += took;
      shared_.metrics.histogram("renkei_store_commit_seconds", "Time of one intake commit to the store")
          .observe(std::chrono::duration<double>(took).count());
      for (auto& b : group) {
        route.stats->recordsStored += static_cast<std::uint64_t>(b.records);
        shared_.cache.put(b.id,
                          std::make_shared<const StoredBatch>(
                              StoredBatch{route.names, std::move(b.payload), route.batchRecordType, route.zone}),
                          static_cast<int>(route.targetIds.size()));
      }
      route.stats->batchesStored += group.size();
      shared_.notifyDelivery();
      if (group.front().sequence == 0) shared_.fault("after-first-batch");
    } catch (const std::exception& e) {
      failure = e.what();
    }
    lock.lock();
    if (!failure.empty()) error_ = failure;
    else busy_ = false;
    changed_.notify_all();
  }
}

}  // namespace renkei::pipeline
