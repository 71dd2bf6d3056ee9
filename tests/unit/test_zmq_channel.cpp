// The toolkit's ZeroMQ channel, PUB/SUB half (connectors/common/
// zmq_channel.h), over real sockets on loopback through the gate: only
// subscribers on the allow-list get events, each only its topics, in order,
// and one that falls behind sees how many it missed.
#define BOOST_TEST_MODULE renkei_zmq_channel
#include <boost/test/unit_test.hpp>

#include <zmq.h>

#include <Poco/Logger.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "test_support.h"
#include "zmq_channel.h"

using namespace renkei::connectors::channel;

namespace {

struct Keys {
  std::string pub, secret;
  Keys() {
    char p[41] = {}, s[41] = {};
    BOOST_REQUIRE(zmq_curve_keypair(p, s) == 0);
    pub = p;
    secret = s;
  }
};

struct Inbox {
  std::mutex mutex;
  std::vector<ZmqEvent> events;
  std::atomic<int> warm{0};
  std::chrono::milliseconds delay{0};
  ZmqSubscriber::Handler handler() {
    return [this](const ZmqEvent& e) {
      if (e.topic == "warmup") {
        ++warm;
        return;
      }
      if (delay.count()) std::this_thread::sleep_for(delay);
      std::lock_guard<std::mutex> lock(mutex);
      events.push_back(e);
    };
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex);
    return events.size();
  }
};

Poco::Logger& log() { return Poco::Logger::get("test"); }

/// Publishes "warmup" until the subscriber has one (PUB drops what is sent
/// before a subscriber's subscription arrives: ZeroMQ's slow joiner).
bool warmUp(ZmqPublisher& publisher, Inbox& inbox) {
  for (int n = 0; n < 200 && inbox.warm == 0; ++n) {
    publisher.publish("warmup", "{}");
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return inbox.warm > 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(only_subscribers_on_the_allow_list_get_events_and_only_their_topics) {
  const Keys server, display, dashboard, stranger;
  ZmqPublisher publisher("tcp://127.0.0.1:0", server.secret, {display.pub, dashboard.pub}, {}, &log(), "events");
  BOOST_TEST(publisher.publish("ticket.called", "{}") == 0u);  // not started: nothing
  publisher.start();
  const std::string at = publisher.endpoint();
  BOOST_TEST(at.rfind("tcp://127.0.0.1:", 0) == 0u, at);

  Inbox onDisplay, onDashboard, onStranger;
  ZmqSubscriber a(at, server.pub, display.secret, {"ticket.", "warmup"}, 64 * 1024, onDisplay.handler());
  ZmqSubscriber b(at, server.pub, dashboard.secret, {"visit.", "warmup"}, 64 * 1024, onDashboard.handler());
  ZmqSubscriber c(at, server.pub, stranger.secret, {""}, 64 * 1024, onStranger.handler());
  a.start();
  b.start();
  c.start();
  BOOST_REQUIRE(warmUp(publisher, onDisplay));
  BOOST_REQUIRE(warmUp(publisher, onDashboard));

  std::vector<std::uint64_t> sent;
  for (int n = 1; n <= 50; ++n) {
    sent.push_back(publisher.publish("ticket.called", "{\"ticket\":" + std::to_string(n) + "}"));
    publisher.publish("visit.opened", "{\"visit\":" + std::to_string(n) + "}");
  }
  BOOST_REQUIRE(renkei::test::waitFor([&] { return onDisplay.size() == 50 && onDashboard.size() == 50; }, 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard<std::mutex> lock(onDisplay.mutex);
    BOOST_TEST(onDisplay.events.size() == 50u);
    for (std::size_t i = 0; i < onDisplay.events.size(); ++i) {
      BOOST_TEST(onDisplay.events[i].topic == "ticket.called");
      BOOST_TEST(onDisplay.events[i].sequence == sent[i]);  // in order, with the publisher's numbers
      BOOST_TEST(onDisplay.events[i].payload == "{\"ticket\":" + std::to_string(i + 1) + "}");
    }
  }
  {
    std::lock_guard<std::mutex> lock(onDashboard.mutex);
    for (const ZmqEvent& e : onDashboard.events) BOOST_TEST(e.topic == "visit.opened");
  }
  BOOST_TEST(onStranger.warm == 0);
  BOOST_TEST(onStranger.size() == 0u);  // a key not on the list gets nothing, not even the warm-up
  a.stop();
  b.stop();
  c.stop();
  publisher.stop();
  BOOST_TEST(publisher.publish("ticket.called", "{}") == 0u);  // stopped: nothing
}

BOOST_AUTO_TEST_CASE(a_subscriber_that_falls_behind_misses_events_and_knows_how_many) {
  const Keys server, slow;
  // A small high-water mark and large events: the publisher never waits
  // for a slow subscriber; the subscriber sees the gap.
  ZmqPublisher publisher("tcp://127.0.0.1:0", server.secret, {slow.pub}, {}, &log(), "events", 4);
  publisher.start();
  Inbox inbox;
  ZmqSubscriber s(publisher.endpoint(), server.pub, slow.secret, {""}, 1 << 20, inbox.handler());
  s.start();
  BOOST_REQUIRE(warmUp(publisher, inbox));
  inbox.delay = std::chrono::milliseconds(2);
  const std::string big(256 * 1024, 'x');
  const auto began = std::chrono::steady_clock::now();
  std::uint64_t first = 0, last = 0;
  for (int n = 0; n < 400; ++n) {
    last = publisher.publish("floor.tick", big);
    if (!first) first = last;
  }
  // 100 MB offered: publish() never blocked on the subscriber.
  BOOST_TEST((std::chrono::steady_clock::now() - began < std::chrono::seconds(5)));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  s.stop();
  publisher.stop();
  const std::size_t got = inbox.size();
  BOOST_TEST_MESSAGE("received " << got << " of 400, missed " << s.missed());
  BOOST_TEST(got < 400u);
  BOOST_TEST(s.missed() > 0u);
  // What arrived and what was missed account for every event up to the
  // last one received.
  std::lock_guard<std::mutex> lock(inbox.mutex);
  BOOST_REQUIRE(!inbox.events.empty());
  BOOST_TEST(inbox.events.back().sequence - first + 1 == got + s.missed());
}
