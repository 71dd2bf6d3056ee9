#include "renkei/support/worker.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <set>

namespace renkei {

namespace {

std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::set<Worker*>& registry() {
  static std::set<Worker*> r;
  return r;
}
std::int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::vector<Worker::Health> Worker::health() {
  std::vector<Health> out;
  std::lock_guard registryLock(registryMutex());
  for (Worker* w : registry()) {
    std::lock_guard lock(w->mutex_);
    out.push_back({w->name_, w->failures_, w->lastError_, w->lastOkMs_});
  }
  return out;
}

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
    failures_ = 0;
    lastError_.clear();
  }
  thread_ = std::thread([this] { loop(); });
  std::lock_guard registryLock(registryMutex());
  registry().insert(this);
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
    std::lock_guard registryLock(registryMutex());
    registry().erase(this);
  }
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
      lock.lock();
      lastOkMs_ = wallMs();
      lastError_.clear();
      lock.unlock();
    } catch (const std::exception& e) {
      failed(++failures, e.what());
      lock.lock();
      lastError_ = e.what();
      lock.unlock();
    } catch (...) {  // not a std::exception: still not the end of the thread (or the process)
      failed(++failures, "an exception that is not a std::exception");
      lock.lock();
      lastError_ = "an exception that is not a std::exception";
      lock.unlock();
    }
    lock.lock();
    failures_ = failures;
    wake_.wait_for(lock, waitAfter(options_, failures), [this] { return stopping_ || woken_; });
  }
}

}  // namespace renkei
