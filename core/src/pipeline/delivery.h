// Delivery on threads of their own, each serving its share of the targets
// (one target each, up to the pipeline's delivery-threads): leases due
// outbox rows (each target sees a route's batches in order), hands each
// batch to its sink or module, marks it delivered, or schedules a retry with
// backoff, or makes it a dead letter. A target that hangs holds only its own
// worker; the first worker also checkpoints and prunes the store when idle.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/shared.h"
#include "store/store.h"

namespace renkei::pipeline {

class Delivery {
 public:
  /// Opens this worker's store connection. Throws store::StoreError.
  /// `targets`: the targets it serves; `housekeeper`: it also checkpoints
  /// and prunes the store.
  Delivery(Shared& shared, const store::StoreConfig& config, std::vector<std::string> targets, bool housekeeper);
  ~Delivery();
  /// Runs until `stop`; with `once`, until intake has finished and nothing
  /// deliverable is pending (retries included).
  void loop(const std::atomic<bool>& stop, bool once);
  /// Batches read back from the store (not found in the payload cache).
  std::uint64_t storeReads() const { return storeReads_; }
  /// Beaten each time round the loop and after each batch handed over.
  Heartbeat heartbeat;

 private:
  enum class Attempt { Delivered, Retry, Dead };
  /// Hands one leased row to its target. Delivered: the caller records it
  /// (with the rest of its claim); a failure is recorded here.
  Attempt deliver(const store::Delivery& d);
  std::chrono::milliseconds backoff(int attempt);
  /// A stored batch for delivery: from the cache, else from the store.
  std::shared_ptr<const StoredBatch> loadBatch(const std::string& batchId);

  Shared& shared_;
  std::unique_ptr<store::Store> store_;
  const std::vector<std::string> targets_;
  const bool housekeeper_;
  std::map<std::string, std::shared_ptr<const FieldNames>> storedNames_;  ///< parsed `fields`
  std::uint64_t storeReads_ = 0;
};

}  // namespace renkei::pipeline
