// Sessions and the per-address rate limit (concierge_sessions.h).
#include "concierge_sessions.h"

#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace renkei::plugins::concierge {

std::string randomId() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

Session Sessions::open(const std::string& event, const std::string& channel, const std::string& firstQuestion) {
  Session s;
  s.id = randomId();
  s.event = event;
  s.channel = channel;
  s.question = firstQuestion;
  s.lastUsed = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  while (lru_.size() >= max_ && !lru_.empty()) {
    index_.erase(lru_.back().id);
    lru_.pop_back();
    ++evicted_;
  }
  lru_.push_front(s);
  index_[s.id] = lru_.begin();
  return s;
}

std::optional<Session> Sessions::get(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  const auto now = std::chrono::steady_clock::now();
  if (now - it->second->lastUsed > idle_) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  it->second->lastUsed = now;
  lru_.splice(lru_.begin(), lru_, it->second);
  return *it->second;
}

void Sessions::put(const Session& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(s.id);
  if (it == index_.end()) return;  // erased meanwhile (timed out, evicted)
  *it->second = s;
  it->second->lastUsed = std::chrono::steady_clock::now();
  lru_.splice(lru_.begin(), lru_, it->second);
}

void Sessions::erase(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(id);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

std::size_t Sessions::expire() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::size_t n = 0;
  while (!lru_.empty() && now - lru_.back().lastUsed > idle_) {
    index_.erase(lru_.back().id);
    lru_.pop_back();
    ++n;
  }
  return n;
}

std::size_t Sessions::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return lru_.size();
}

bool RateLimit::allow(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  // Bounded: a flood of addresses cannot grow the table without end.
  if (buckets_.size() > 100000) buckets_.clear();
  auto [it, fresh] = buckets_.try_emplace(address);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = perMinute_;
    b.at = now;
  }
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min<double>(perMinute_, b.tokens + elapsed * perMinute_ / 60.0);
  b.at = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace renkei::plugins::concierge
