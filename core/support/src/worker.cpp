#include "renkei/support/worker.h"

#include <Poco/Logger.h>

#include <algorithm>

namespace renkei {

std::chrono::milliseconds Worker::waitAfter(const Options& options, int failures) {
  auto wait = options.interval;
  for (int i = 0; i < failures; ++i) {
    wait *= 2;
    if (wait >= options.maxBackoff) return std::max(options.maxBackoff, options.interval);
  }
  return wait;
}

void Worker::start(std::string name, Options options, Pass pass, Poco::Logger& log) {
  stop();
  name_ = std::move(name);
  options_ = options;
  pass_ = std::move(pass);
  log_ = &log;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
    woken_ = false;
  }
  thread_ = std::thread([this] { loop(); });
}

void Worker::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  wake_.notify_all();
}

void Worker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Worker::failed(int failures, const std::string& what) {
  const auto wait = waitAfter(options_, failures);
  log_->warning("%s: %s (tried again in %s s)", name_, what,
                std::to_string(std::chrono::duration_cast<std::chrono::seconds>(wait).count()));
}

void Worker::loop() {
  int failures = 0;
  std::unique_lock lock(mutex_);
  if (!options_.passFirst) wake_.wait_for(lock, options_.interval, [this] { return stopping_ || woken_; });
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    try {
      pass_();
      failures = 0;
    } catch (const std::exception& e) {
      failed(++failures, e.what());
    } catch (...) {  // not a std::exception: still not the end of the thread (or the process)
      failed(++failures, "an exception that is not a std::exception");
    }
    lock.lock();
    wake_.wait_for(lock, waitAfter(options_, failures), [this] { return stopping_ || woken_; });
  }
}

}  // namespace renkei
