// The support library's Worker: the background pass plugins share (the
// bridge's receiving half, the concierge's session expiry, the review
// module's reminders).
#define BOOST_TEST_MODULE renkei_worker
#include <boost/test/unit_test.hpp>

#include <Poco/Logger.h>

#include <atomic>
#include <optional>
#include <stdexcept>
#include <thread>

#include "renkei/support/worker.h"

using namespace renkei;
using namespace std::chrono_literals;

namespace {
bool waitUntil(const std::function<bool()>& ready, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (ready()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return ready();
}
Poco::Logger& log() { return Poco::Logger::get("test.worker"); }
}  // namespace

BOOST_AUTO_TEST_CASE(passes_run_every_interval_until_stop) {
  std::atomic<int> passes{0};
  Worker w;
  Worker::Options o;
  o.interval = 20ms;
  w.start("test", o, [&] { ++passes; }, log());
  BOOST_TEST(waitUntil([&] { return passes >= 4; }, 5s));
  w.stop();
  const int after = passes;
  std::this_thread::sleep_for(80ms);
  BOOST_TEST(passes == after);  // none after stop
  w.stop();                     // idempotent
  BOOST_TEST(!w.running());
}

BOOST_AUTO_TEST_CASE(wake_runs_the_next_pass_now_and_pass_first_false_waits) {
  std::atomic<int> passes{0};
  Worker w;
  Worker::Options o;
  o.interval = 60s;
  o.passFirst = false;
  w.start("test", o, [&] { ++passes; }, log());
  std::this_thread::sleep_for(50ms);
  BOOST_TEST(passes == 0);  // waits an interval first
  w.wake();
  BOOST_TEST(waitUntil([&] { return passes == 1; }, 2s));
  w.wake();
  BOOST_TEST(waitUntil([&] { return passes == 2; }, 2s));
}

BOOST_AUTO_TEST_CASE(a_failing_pass_is_logged_and_tried_again_with_backoff) {
  Worker::Options o;
  o.interval = 100ms;
  o.maxBackoff = 1s;
  BOOST_TEST(Worker::waitAfter(o, 0).count() == 100);
  BOOST_TEST(Worker::waitAfter(o, 1).count() == 200);
  BOOST_TEST(Worker::waitAfter(o, 3).count() == 800);
  BOOST_TEST(Worker::waitAfter(o, 4).count() == 1000);
  BOOST_TEST(Worker::waitAfter(o, 60).count() == 1000);
  // A pass that throws does not end the thread: the next one runs.
  std::atomic<int> passes{0};
  Worker w;
  o.interval = 10ms;
  o.maxBackoff = 20ms;
  w.start("test", o, [&] {
    if (++passes < 3) throw std::runtime_error("the store does not answer");
  }, log());
  BOOST_TEST(waitUntil([&] { return passes >= 4; }, 5s));
  w.stop();
  // Nor does one that throws something that is not a std::exception.
  std::atomic<int> odd{0};
  Worker v;
  v.start("test", o, [&] {
    if (++odd < 3) throw 42;
  }, log());
  BOOST_TEST(waitUntil([&] { return odd >= 4; }, 5s));
}

// The problem watch's view: a worker whose passes keep failing says so in
// health() (failures in a row, the last error, the last good pass), and
// clears when a pass succeeds; a stopped worker is not listed.
BOOST_AUTO_TEST_CASE(health_shows_passes_failing_in_a_row_until_one_succeeds) {
  Worker::Options o;
  o.interval = 10ms;
  o.maxBackoff = 20ms;
  std::atomic<int> passes{0};
  std::atomic<bool> broken{true};
  Worker w;
  w.start("ticketing t1: reading the machine's log", o, [&] {
    ++passes;
    if (broken) throw std::runtime_error("the log folder cannot be read");
  }, log());
  const auto mine = [] {
    for (const Worker::Health& h : Worker::health())
      if (h.name == "ticketing t1: reading the machine's log") return std::optional<Worker::Health>(h);
    return std::optional<Worker::Health>();
  };
  BOOST_TEST(waitUntil([&] { return mine() && mine()->failures >= 3; }, 5s));
  BOOST_TEST(mine()->lastError == "the log folder cannot be read");
  BOOST_TEST(mine()->lastOkMs == 0);
  broken = false;
  BOOST_TEST(waitUntil([&] { return mine() && mine()->failures == 0; }, 5s));
  BOOST_TEST(mine()->lastError.empty());
  BOOST_TEST(mine()->lastOkMs > 0);
  w.stop();
  BOOST_TEST(!mine().has_value());
}
