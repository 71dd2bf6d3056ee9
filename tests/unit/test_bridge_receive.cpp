// The bridge's receiving half in this process (the plugin harness): bundles
// signed here are dropped into its folder and taken in by its passes; what
// it emitted, counted and logged is read back. What needs two real hosts
// (the transfer both ways, SIGKILL, ZeroMQ across processes, renkei status)
// stays in test_bridge.
#define BOOST_TEST_MODULE renkei_bridge_receive
#include <boost/test/unit_test.hpp>

#include <Poco/AutoPtr.h>
#include <Poco/Logger.h>
#include <Poco/StreamChannel.h>

#include <set>
#include <sstream>

#include "bridge_bundle.h"
#include "plugin_harness.h"
#include "renkei/support/seal.h"

namespace fs = std::filesystem;
using namespace renkei;
namespace bridge = renkei::connectors::bridge;

namespace {

bridge::Manifest manifest(const std::string& id, std::int64_t sequence) {
  bridge::Manifest m;
  m.bundleId = id;
  m.sender = "city";
  m.fromZone = "lgwan";
  m.toZone = "internet";
  m.sequence = sequence;
  m.recordType = "notice";
  m.fields = {{"id", "none"}, {"status", "none"}};
  m.created = "2026-12-01T00:00:00Z";
  return m;
}

/// The internet side's receiving half, with the LGWAN side's keys made by
/// the host's own keygen; its log lines kept in `log`.
struct Receiver {
  test::PluginHarness h{"bridge", "internet", "bridge-in"};
  std::ostringstream log;
  Receiver() {
    auto keys = test::run({test::renkeiBinary(), "bridge", "keygen", "--out", (h.dir() / "keys").string(), "--zone",
                           "lgwan"});
    BOOST_TEST_REQUIRE(keys.exitCode == 0, keys.err);
    h.set("receive-folder", "receive").set("receive-types", "notice");
    h.set("sender-key", (h.dir() / "keys/bridge-signing.pub").string());
    h.configure();
    Poco::Logger::get("renkei.plugin.bridge-in").setChannel(new Poco::StreamChannel(log));
  }
  ~Receiver() { Poco::Logger::get("renkei.plugin.bridge-in").setChannel(nullptr); }
  std::string bundle(const std::string& id, std::int64_t sequence, const bridge::Rows& rows) {
    const auto signer = seal::SigningKey::fromFile((h.dir() / "keys/bridge-signing.key").string());
    return bridge::writeBundle(manifest(id, sequence), rows, signer, nullptr);
  }
  void drop(const std::string& name, const std::string& text) {
    test::writeFile(h.dir() / "receive/in" / (name + ".part"), text);
    fs::rename(h.dir() / "receive/in" / (name + ".part"), h.dir() / "receive/in" / name);
  }
  /// One pass, as the receiving thread makes it.
  void pass() { h.connector().takeWaiting(); }
};

}  // namespace

// Moved from test_bridge (it ran two hosts and three `serve --once` to make
// the bundles): the same bundles, the same order, the same assertions.
BOOST_AUTO_TEST_CASE(duplicates_and_bundles_out_of_order_are_delivered_once_and_gaps_reported) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_bridge.so")) return;
  Receiver r;
  std::vector<std::string> bundles;
  for (int n = 1; n <= 3; ++n)
    bundles.push_back(r.bundle("b" + std::to_string(n), n,
                               {{"A-" + std::to_string(n) + "a", "受付"}, {"A-" + std::to_string(n) + "b", "完了"}}));
  // the third first
  r.drop("city.000000000003.bundle", bundles[2]);
  r.pass();
  BOOST_TEST(r.log.str().find("from city, bundles with sequence 1–2 not received yet") != std::string::npos, r.log.str());
  BOOST_TEST(r.h.host().metric("renkei_bridge_sequence_gaps_total", {{"from", "lgwan"}}) == 2);
  // The problem watch's view (the failure mail): open while the two are missing.
  auto problems = r.h.connector().problems();
  BOOST_TEST_REQUIRE(problems.size() == 1u);
  BOOST_TEST(problems[0].kind == "bridge-gap");
  BOOST_TEST(problems[0].subject == "city");
  BOOST_TEST(problems[0].detail.find("2 of the bundles up to sequence 3 from city never arrived") == 0u,
             problems[0].detail);
  // then the first twice (the transfer product retried), and the second
  r.drop("city.000000000001.bundle", bundles[0]);
  r.drop("city.000000000001.bundle.retry", bundles[0]);
  r.drop("city.000000000002.bundle", bundles[1]);
  r.pass();
  BOOST_TEST(r.log.str().find("was received before: ignored") != std::string::npos, r.log.str());
  // and the third again, after all
  r.drop("city.000000000003.bundle", bundles[2]);
  r.pass();
  const auto records = r.h.host().emitted("notice");
  std::set<std::string> ids;
  for (const Record& rec : records) ids.insert(*rec.find("id"));
  BOOST_TEST(records.size() == 6u);
  BOOST_TEST(ids.size() == 6u);
  BOOST_TEST(r.h.host().metric("renkei_bridge_bundles_duplicate_total", {{"from", "lgwan"}}) == 2);
  BOOST_TEST(r.h.host().metric("renkei_bridge_bundles_received_total", {{"from", "lgwan"}}) == 3);
  BOOST_TEST(r.h.host().metric("renkei_bridge_sequence_gaps_total", {{"from", "lgwan"}}) == 2);  // not counted again
  BOOST_TEST(r.h.connector().problems().empty());  // the gap has closed
  BOOST_TEST(test::listFiles(r.h.dir() / "receive/done").size() == 5u);
  // The console's status page: the last bundle received, the sender's
  // sequence and the gaps (2), no records.
  const std::string status = r.h.host().page("status").body;
  BOOST_TEST(status.find("\"sender\":\"city\"") != std::string::npos, status);
  BOOST_TEST(status.find("\"last_sequence\":3") != std::string::npos, status);
  BOOST_TEST(status.find("\"gaps\":2") != std::string::npos, status);
  BOOST_TEST(status.find("A-1a") == std::string::npos, status);
  BOOST_TEST(test::listFiles(r.h.dir() / "receive/rejected").empty());
  BOOST_TEST(r.h.host().refusals().empty());
}

BOOST_AUTO_TEST_CASE(a_bundle_claimed_before_a_crash_is_taken_first_and_a_link_is_refused_unread) {
  if (!fs::exists(fs::path(test::env("RENKEI_PLUGIN_DIR")) / "renkei_bridge.so")) return;
  Receiver r;
  fs::create_directories(r.h.dir() / "receive/processing");
  test::writeFile(r.h.dir() / "receive/processing/city.000000000001.bundle", r.bundle("b1", 1, {{"A-1", "受付"}}));
  fs::create_directories(r.h.dir() / "receive/in");
  fs::create_symlink("/etc/passwd", r.h.dir() / "receive/in/link.bundle");
  r.pass();
  BOOST_TEST(r.h.host().emitted("notice").size() == 1u);
  BOOST_TEST(test::listFiles(r.h.dir() / "receive/processing").empty());
  BOOST_TEST(fs::is_symlink(r.h.dir() / "receive/rejected/link.bundle"));
  const std::string reason = test::readFile(r.h.dir() / "receive/rejected/link.bundle.reason.txt");
  BOOST_TEST(reason.find("bundle: link.bundle\nconnector: bridge-in\n") == 0u, reason);
  BOOST_TEST(reason.find("\nrejected: 2027-01-01 09:00:00 +09:00\n") != std::string::npos, reason);  // the host's clock
  BOOST_TEST(reason.find("reason: a symbolic link, not a bundle") != std::string::npos, reason);
  BOOST_REQUIRE(r.h.host().refusals().size() == 1u);
  BOOST_TEST(r.h.host().refusals()[0].first == "link.bundle");
  BOOST_TEST(r.h.host().metric("renkei_bridge_bundles_rejected_total") == 1);
}
