// The payload cache between intake and delivery.
#include "pipeline/payload_cache.h"

namespace renkei::pipeline {

void PayloadCache::put(const std::string& batchId, std::shared_ptr<const StoredBatch> batch, int uses) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Ids of batches already taken leave the front of the order as it moves
  // on, so the order stays as long as the entries it spans.
  while (!order_.empty() && !entries_.count(order_.front())) order_.pop_front();
  const std::size_t size = batch->payload.size();
  if (size > capacity_ || entries_.count(batchId)) return;
  while (bytes_ + size > capacity_ && !order_.empty()) {
    auto it = entries_.find(order_.front());
    if (it != entries_.end()) {
      bytes_ -= it->second.batch->payload.size();
      entries_.erase(it);
    }
    order_.pop_front();
  }
  bytes_ += size;
  entries_[batchId] = Entry{std::move(batch), uses};
  order_.push_back(batchId);
}

std::shared_ptr<const StoredBatch> PayloadCache::take(const std::string& batchId) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(batchId);
  if (it == entries_.end()) return nullptr;
  auto batch = it->second.batch;
  if (--it->second.uses <= 0) {
    bytes_ -= batch->payload.size();
    entries_.erase(it);
    // Its id leaves order_ when it reaches the front (put()).
  }
  return batch;
}

}  // namespace renkei::pipeline
