// Payloads intake has just committed, kept so delivery need not read them
// back from the store: bounded by bytes, oldest dropped first (delivery then
// reads the store).
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "renkei/record.h"

namespace renkei::pipeline {

/// A stored batch as delivery needs it.
struct StoredBatch {
  std::shared_ptr<const FieldNames> names;
  std::string payload;  ///< JSON Lines of value arrays
  std::string recordType, zone;
};

/// Thread-safe.
class PayloadCache {
 public:
  explicit PayloadCache(std::size_t capacityBytes) : capacity_(capacityBytes) {}
  /// Keeps `batch` for `uses` takes (its targets), unless it alone is larger
  /// than the capacity.
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

}  // namespace renkei::pipeline
