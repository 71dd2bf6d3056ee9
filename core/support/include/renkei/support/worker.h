// A plugin's background pass on a thread of its own: run every `interval`
// until stop(), woken early by wake(), a pass that throws logged and tried
// again after a backoff that doubles up to `maxBackoff` (and returns to the
// interval after a pass that succeeds). What the bridge's receiving half,
// the concierge's session expiry and the review module's reminders each
// wrote by hand (a thread, a mutex, a condition variable, a stop flag, a
// try/catch) is this one class.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <vector>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace Poco {
class Logger;
}

namespace renkei {

class Worker {
 public:
  struct Options {
    std::chrono::milliseconds interval{5000};    ///< between passes
    std::chrono::milliseconds maxBackoff{300000}; ///< the longest wait after passes that failed
    bool passFirst = true;  ///< run a pass at once on start (else wait an interval first)
  };
  using Pass = std::function<void()>;

  Worker() = default;
  ~Worker() { stop(); }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Starts the thread. `name` says whose pass it is in log lines ("bridge
  /// b1: receiving"); a pass's exception is logged on `log` as a warning
  /// with when it is tried again. Call once, from start().
  void start(std::string name, Options options, Pass pass, Poco::Logger& log);
  /// The next pass now (if none is running; else right after it).
  void wake();
  /// Stops: waits for a running pass, then joins. Idempotent.
  void stop();
  /// Whether stop() was called: a long pass checks it to end early.
  bool stopRequested() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }
  bool running() const { return thread_.joinable(); }
  /// The wait after `failures` failed passes in a row (0: the interval).
  static std::chrono::milliseconds waitAfter(const Options& options, int failures);

  /// How a running worker's passes go, for the host's problem watch: one
  /// whose passes keep failing is a plugin that has stopped working.
  struct Health {
    std::string name;       ///< as given to start()
    int failures = 0;       ///< failed passes in a row (0: the last one succeeded)
    std::string lastError;  ///< the last failure's message (0 failures: empty)
    std::int64_t lastOkMs = 0;  ///< when a pass last succeeded (ms since the epoch; 0: never)
  };
  /// Every worker of this process that is running now.
  static std::vector<Health> health();

 private:
  void loop();
  void failed(int failures, const std::string& what);

  std::string name_;
  Options options_;
  Pass pass_;
  Poco::Logger* log_ = nullptr;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false, woken_ = false;
  int failures_ = 0;  ///< under mutex_, for health()
  std::string lastError_;
  std::int64_t lastOkMs_ = 0;
};

}  // namespace renkei
