// The concierge's sessions: in memory only, bounded in number (the oldest
// idle one goes first), erased after an idle time-out or once a token is
// made. A session holds where the resident is in the question tree and the
// PII-free facts of the answers; nothing that names or locates a person.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace renkei::plugins::concierge {

struct Step {
  std::string question;                      ///< the question answered
  int choice = -1;                           ///< the choice taken
};

struct Session {
  std::string id;
  std::string event;
  std::string channel;                       ///< web, line, kiosk
  std::string question;                      ///< the current one; "" when the tree is done
  std::vector<Step> steps;                   ///< answers so far, for "back"
  std::chrono::steady_clock::time_point lastUsed;
};

class Sessions {
 public:
  Sessions(std::size_t maxSessions, std::chrono::milliseconds idle) : max_(maxSessions), idle_(idle) {}
  /// A new session (the oldest idle one erased when full).
  Session open(const std::string& event, const std::string& channel, const std::string& firstQuestion);
  /// A copy of the session, touched; nullopt when unknown or timed out.
  std::optional<Session> get(const std::string& id);
  /// Stores the session back (after an answer or a step back).
  void put(const Session& s);
  void erase(const std::string& id);
  /// Erases the sessions idle longer than the time-out; returns how many.
  std::size_t expire();
  std::size_t size();
  /// Sessions erased to make room for new ones (not timed out), since start.
  std::uint64_t evicted() const { return evicted_.load(); }

 private:
  std::mutex mutex_;
  std::size_t max_;
  std::chrono::milliseconds idle_;
  std::list<Session> lru_;  // front: most recently used
  std::unordered_map<std::string, std::list<Session>::iterator> index_;
  std::atomic<std::uint64_t> evicted_{0};
};

/// Per client address: at most `perMinute` requests in any minute.
class RateLimit {
 public:
  explicit RateLimit(int perMinute) : perMinute_(perMinute) {}
  bool allow(const std::string& address);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex mutex_;
  int perMinute_;
  std::unordered_map<std::string, Bucket> buckets_;
};

/// 128 random bits as 32 hex digits.
std::string randomId();

}  // namespace renkei::plugins::concierge
