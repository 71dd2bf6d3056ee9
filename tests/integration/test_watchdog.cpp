// systemd's watchdog, played by this test: it listens on the notification
// socket systemd would give (NOTIFY_SOCKET) with a watchdog interval
// (WATCHDOG_USEC) and does what systemd does with WatchdogSignal=SIGKILL and
// Restart=on-failure. A host that serves says READY=1 and sends WATCHDOG=1
// while its workers come round; a delivery stuck in a call that never
// returns (the flaky fixture's hang-first: a far side that never answers)
// stops the pings, the "watchdog" SIGKILLs it, and the host started again
// delivers every record once.
#define BOOST_TEST_MODULE watchdog
#include <boost/test/unit_test.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <thread>

#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;

namespace {

/// The service manager's end of the notification socket.
struct NotifySocket {
  int fd = -1;
  fs::path path;
  explicit NotifySocket(fs::path p) : path(std::move(p)) {
    fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(fd >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    BOOST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~NotifySocket() { ::close(fd); }
  /// The next message within `ms`, or empty.
  std::string next(int ms) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return {};
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }
  /// Waits up to `ms` for a message holding `what`; true when one came.
  bool waitFor(const std::string& what, int ms) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (next(static_cast<int>(std::max<std::int64_t>(left.count(), 1))).find(what) != std::string::npos) return true;
    }
    return false;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(a_stuck_worker_stops_the_pings_and_after_the_watchdogs_sigkill_nothing_is_lost) {
  test::TempDir dir;
  fs::create_directories(dir / "in/in");
  test::writeFile(dir / "config.xml",
                  "<renkei xmlns=\"urn:renkei:config:1\" instance=\"city\" zone=\"lgwan\">\n"
                  "  <pipeline poll-interval=\"100ms\" lease=\"60s\"/>\n"
                  "  <store driver=\"sqlite\" path=\"renkei.db\"/>\n"
                  "  <connector id=\"in\" plugin=\"file\"><directory>in</directory><settle>0s</settle></connector>\n"
                  "  <connector id=\"far\" plugin=\"fixture-flaky\"><directory>far</directory>"
                  "<hang-first>1</hang-first></connector>\n"
                  "  <route id=\"r\" from=\"in\" to=\"far\"/>\n"
                  "</renkei>\n");
  NotifySocket systemd(dir / "notify.sock");
  std::map<std::string, std::string> env{
      {"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR") + ":" + test::env("RENKEI_TEST_PLUGIN_DIR")},
      {"NOTIFY_SOCKET", (dir / "notify.sock").string()},
      {"WATCHDOG_USEC", "1500000"}};
  const std::vector<std::string> serve{test::renkeiBinary(), "serve", "--config", (dir / "config.xml").string()};
  // A child's log, once it has one (the message is built whether or not the check fails).
  const auto logOf = [&](const std::string& stem) {
    std::error_code ec;
    return fs::exists(dir / (stem + ".err"), ec) ? test::readFile(dir / (stem + ".err")) : std::string();
  };
  auto host = test::spawn(serve, dir / "serve1", env);
  BOOST_TEST_REQUIRE(systemd.waitFor("READY=1", 20000), logOf("serve1"));
  // Idle, it pings every half second (a third of the interval).
  int pings = 0;
  for (int i = 0; i < 6; ++i) pings += systemd.next(1000).find("WATCHDOG=1") != std::string::npos;
  BOOST_TEST(pings >= 4);

  std::string text;
  for (int i = 1; i <= 100; ++i) text += "line " + std::to_string(i) + "\n";
  test::writeFile(dir / "in/in/a.txt", text);
  // The first delivery never returns: the pings stop once the delivery
  // worker has been away longer than the interval.
  BOOST_TEST_REQUIRE(test::waitFor([&] { return fs::exists(dir / "far/calls"); }, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));
  while (!systemd.next(0).empty()) {
  }
  bool silent = true;
  for (int i = 0; i < 4 && silent; ++i) silent = systemd.next(1000).find("WATCHDOG=1") == std::string::npos;
  BOOST_TEST(silent, "pings went on while the delivery was stuck");
  BOOST_TEST(logOf("serve1").find("systemd watchdog: delivery worker 1 has not come round for") !=
                 std::string::npos,
             logOf("serve1"));
  // What systemd does: SIGKILL (WatchdogSignal=SIGKILL), then start it again.
  ::kill(host.pid, SIGKILL);
  BOOST_TEST(host.wait().signal == SIGKILL);
  host = test::spawn(serve, dir / "serve2", env);
  BOOST_TEST_REQUIRE(systemd.waitFor("READY=1", 20000), logOf("serve2"));
  std::multiset<std::string> lines;
  BOOST_TEST(test::waitFor([&] {
    lines.clear();
    if (!fs::exists(dir / "far/out")) return false;
    for (const auto& f : test::listFiles(dir / "far/out")) {
      std::istringstream in(test::readFile(dir / "far/out" / f));
      for (std::string l; std::getline(in, l);) lines.insert(l);
    }
    return lines.size() >= 100u;
  }, 60));
  BOOST_TEST(lines.size() == 100u);
  BOOST_TEST(std::set<std::string>(lines.begin(), lines.end()).size() == 100u);
  BOOST_TEST(systemd.waitFor("WATCHDOG=1", 3000));
  ::kill(host.pid, SIGTERM);
  BOOST_TEST(host.wait().exitCode == 0);
  BOOST_TEST(systemd.waitFor("STOPPING=1", 2000));
}
