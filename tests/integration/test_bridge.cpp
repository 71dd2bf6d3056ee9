// The bridge between two real instances (issue 14): an LGWAN instance and an
// internet instance on one machine, each with its own store and keys made by
// `renkei bridge keygen`, linked by drop folders the test moves files
// between (the transfer product). PII-free records go out, sealed
// applications come in; a sanitiser's CRLF and BOM do not break a bundle;
// a changed byte, another key, an identifier in free text, limits, bad text
// and a record type not allowed refuse a bundle whole; duplicates and
// bundles out of order land once; SIGKILL of either side while bundles flow
// both ways loses nothing and doubles nothing; the internet side's store
// and folders hold nothing personal.
#define BOOST_TEST_MODULE renkei_bridge
#include <boost/test/unit_test.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "bridge_bundle.h"
#include "zmq_channel.h"
#include "renkei/support/seal.h"
#include "test_support.h"

using namespace renkei;
namespace fs = std::filesystem;
namespace bridge = renkei::connectors::bridge;

namespace {

std::map<std::string, std::string> pluginEnv() { return {{"RENKEI_PLUGIN_DIR", test::env("RENKEI_PLUGIN_DIR")}}; }

test::ProcessResult runRenkei(const std::vector<std::string>& args) {
  std::vector<std::string> full{test::renkeiBinary()};
  full.insert(full.end(), args.begin(), args.end());
  return test::run(full, pluginEnv());
}



/// Every file below `dir`, read whole (the store, logs, folders).
std::string everythingUnder(const fs::path& dir) {
  std::string all;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) all += test::readFile(e.path());
  return all;
}

const char* kNoticeLayout = R"(<layout xmlns="urn:renkei:layout:1" id="notice-csv" record="notice">
  <csv encoding="utf-8" header="true" newline="lf"/>
  <field name="id" pii="none"/>
  <field name="status" pii="none"/>
</layout>
)";
const char* kNoticeMapping = R"(<mapping xmlns="urn:renkei:mapping:1" id="notice" version="1">
  <source layout="notice.xml"/>
  <target record="notice" zone="internet"/>
  <field to="id" from="id" required="true"/>
  <field to="status" from="status"/>
</mapping>
)";
const char* kApplicationLayout = R"(<layout xmlns="urn:renkei:layout:1" id="application-csv" record="form">
  <csv encoding="utf-8" header="true" newline="lf"/>
  <field name="id" pii="none"/>
  <field name="name" pii="personal"/>
  <field name="birth" pii="personal"/>
</layout>
)";
const char* kApplicationMapping = R"(<mapping xmlns="urn:renkei:mapping:1" id="application" version="1">
  <source layout="application.xml"/>
  <target record="application" zone="lgwan"/>
  <field to="id" from="id" required="true"/>
  <field to="name" from="name" required="true"/>
  <field to="birth" from="birth"/>
</mapping>
)";

/// Two instances, their keys and the folders between them.
struct Zones {
  test::TempDir dir;
  fs::path lgwan, net;  // each instance's folder
  explicit Zones(const std::string& netKeepDone = "false") {
    lgwan = dir / "lgwan";
    net = dir / "net";
    for (const auto& [out, zone] : {std::pair{dir / "keys/lgwan", "lgwan"}, {dir / "keys/lgwan-old", "lgwan"},
                                    {dir / "keys/internet", "internet"}}) {
      auto r = runRenkei({"bridge", "keygen", "--out", out.string(), "--zone", zone});
      BOOST_REQUIRE_MESSAGE(r.exitCode == 0, r.err);
    }
    test::writeFile(lgwan / "notice.xml", kNoticeLayout);
    test::writeFile(lgwan / "notice-map.xml", kNoticeMapping);
    test::writeFile(net / "application.xml", kApplicationLayout);
    test::writeFile(net / "application-map.xml", kApplicationMapping);
    const std::string keys = (dir / "keys").string();
    // LGWAN opens with its current key and, after a rotation, the old one:
    // the internet side still seals to the old public key.
    test::writeFile(lgwan / "config.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="city" zone="lgwan">
  <log level="information"/>
  <pipeline poll-interval="100ms" retry-initial="100ms" retry-max="500ms"/>
  <store driver="sqlite" path="renkei.db"/>
  <connector id="notices-in" plugin="file"><directory>notices</directory><settle>0s</settle></connector>
  <connector id="bridge" plugin="bridge">
    <send-folder>send</send-folder>
    <to-zone>internet</to-zone>
    <send-types>notice</send-types>
    <signing-key>)" + keys + R"(/lgwan/bridge-signing.key</signing-key>
    <receive-folder>receive</receive-folder>
    <receive-types>application</receive-types>
    <sender-key>)" + keys + R"(/internet/bridge-signing.pub</sender-key>
    <opening-keys>)" + keys + "/lgwan/bridge-sealing.key, " + keys + R"(/lgwan-old/bridge-sealing.key</opening-keys>
    <poll-interval>100ms</poll-interval>
  </connector>
  <connector id="apps-out" plugin="file"><directory>apps</directory></connector>
  <route id="notices-out" from="notices-in" to="bridge" mapping="notice-map.xml"/>
  <route id="apps-in" from="bridge" records="application" to="apps-out"/>
</renkei>
)");
    test::writeFile(net / "config.xml", R"(<renkei xmlns="urn:renkei:config:1" instance="net" zone="internet">
  <log level="information"/>
  <pipeline poll-interval="100ms" retry-initial="100ms" retry-max="500ms"/>
  <store driver="sqlite" path="renkei.db"/>
  <connector id="forms-in" plugin="file"><directory>forms</directory><settle>0s</settle><keep-done>)" +
                                         netKeepDone + R"(</keep-done></connector>
  <connector id="bridge" plugin="bridge">
    <send-folder>send</send-folder>
    <to-zone>lgwan</to-zone>
    <send-types>application</send-types>
    <signing-key>)" + keys + R"(/internet/bridge-signing.key</signing-key>
    <receiver-key>)" + keys + R"(/lgwan-old/bridge-sealing.pub</receiver-key>
    <receive-folder>receive</receive-folder>
    <receive-types>notice</receive-types>
    <sender-key>)" + keys + R"(/lgwan/bridge-signing.pub</sender-key>
    <poll-interval>100ms</poll-interval>
  </connector>
  <connector id="notices-out" plugin="file"><directory>notices</directory></connector>
  <route id="apps-out" from="forms-in" to="bridge" mapping="application-map.xml"/>
  <route id="notices-in" from="bridge" records="notice" to="notices-out"/>
</renkei>
)");
    fs::create_directories(lgwan / "notices/in");
    fs::create_directories(net / "forms/in");
    fs::create_directories(lgwan / "receive/in");
    fs::create_directories(net / "receive/in");
  }
  std::string lgwanConfig() const { return (lgwan / "config.xml").string(); }
  std::string netConfig() const { return (net / "config.xml").string(); }
  test::ProcessResult once(const fs::path& instance) {
    return runRenkei({"serve", "--config", (instance / "config.xml").string(), "--once"});
  }
  /// The transfer product: every bundle in one side's out/ to the other's
  /// in/, through `sanitise` (unchanged by default). Returns how many.
  int transfer(const std::function<std::string(const std::string&)>& sanitise = nullptr) {
    int moved = 0;
    for (const auto& [from, to] : {std::pair{lgwan / "send/out", net / "receive/in"}, {net / "send/out", lgwan / "receive/in"}}) {
      for (const std::string& name : test::listFiles(from)) {
        std::string text = test::readFile(from / name);
        if (sanitise) text = sanitise(text);
        test::writeFile(to / (name + ".part"), text);
        fs::rename(to / (name + ".part"), to / name);
        fs::remove(from / name);
        ++moved;
      }
    }
    return moved;
  }
  /// A bundle signed by the internet side (as its instance would make it),
  /// for bundles no instance would send.
  std::string signedByNet(bridge::Manifest m, const bridge::Rows& rows) {
    const auto signer = seal::SigningKey::fromFile((dir / "keys/internet/bridge-signing.key").string());
    const auto receiver = seal::PublicKey::fromFile((dir / "keys/lgwan/bridge-sealing.pub").string());
    return bridge::writeBundle(std::move(m), rows, signer, &receiver);
  }
  std::string signedByLgwan(bridge::Manifest m, const bridge::Rows& rows) {
    const auto signer = seal::SigningKey::fromFile((dir / "keys/lgwan/bridge-signing.key").string());
    return bridge::writeBundle(std::move(m), rows, signer, nullptr);
  }
};

bridge::Manifest manifest(const std::string& id, const std::string& sender, const std::string& from,
                          const std::string& to, const std::string& type,
                          const std::vector<std::pair<std::string, std::string>>& fields, std::int64_t sequence = 1) {
  bridge::Manifest m;
  m.bundleId = id;
  m.sender = sender;
  m.fromZone = from;
  m.toZone = to;
  m.sequence = sequence;
  m.recordType = type;
  for (const auto& [name, pii] : fields) m.fields.push_back({name, pii});
  m.created = "2026-12-01T00:00:00Z";
  return m;
}

/// The reason file kept beside a rejected bundle `name`.
std::string reasonOf(const fs::path& receive, const std::string& name) {
  const fs::path file = receive / "rejected" / (name + ".reason.txt");
  return fs::exists(file) ? test::readFile(file) : std::string("(no reason file for ") + name + ")";
}

}  // namespace

BOOST_AUTO_TEST_CASE(records_cross_both_ways_through_a_sanitiser_and_nothing_personal_stays_on_the_internet_side) {
  Zones z;
  BOOST_REQUIRE(runRenkei({"check", "--config", z.lgwanConfig()}).exitCode == 0);
  auto check = runRenkei({"check", "--config", z.netConfig()});
  BOOST_REQUIRE_MESSAGE(check.exitCode == 0, check.err);
  test::writeFile(z.lgwan / "notices/in/notices.csv", "id,status\nA-1,受付\nA-2,補正依頼\nA-3,完了\n");
  test::writeFile(z.net / "forms/in/forms.csv",
                  "id,name,birth\nN-1,試験 花子,1988-04-01\nN-2,見本 太郎,1975-12-24\n");
  auto a = z.once(z.lgwan);
  BOOST_TEST(a.exitCode == 0, a.out << a.err);
  auto b = z.once(z.net);
  BOOST_TEST(b.exitCode == 0, b.out << b.err);
  // In transit: the application bundle is sealed; the notices are in the clear.
  const auto sealedOut = test::listFiles(z.net / "send/out");
  BOOST_REQUIRE_EQUAL(sealedOut.size(), 1u);
  const std::string inTransit = test::readFile(z.net / "send/out" / sealedOut[0]);
  BOOST_TEST(inTransit.find("\nsealed:") != std::string::npos);
  BOOST_TEST(inTransit.find("試験") == std::string::npos);
  BOOST_TEST(inTransit.find("\"pii\":\"personal\"") != std::string::npos);
  // A sanitiser that rewrites line ends and adds a BOM: still verified.
  BOOST_TEST(z.transfer([](const std::string& t) {
    std::string crlf = "\xEF\xBB\xBF";
    for (char c : t) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    return crlf;
  }) == 2);
  a = z.once(z.lgwan);
  BOOST_TEST(a.exitCode == 0, a.out << a.err);
  b = z.once(z.net);
  BOOST_TEST(b.exitCode == 0, b.out << b.err);
  const auto apps = test::linesIn(z.lgwan / "apps/out");
  BOOST_REQUIRE_EQUAL(apps.size(), 2u);
  BOOST_TEST(apps[0].find("\"name\":\"試験 花子\"") != std::string::npos, apps[0]);
  const auto notices = test::linesIn(z.net / "notices/out");
  BOOST_REQUIRE_EQUAL(notices.size(), 3u);
  BOOST_TEST(notices[1].find("補正依頼") != std::string::npos);
  BOOST_TEST(test::listFiles(z.lgwan / "receive/rejected").empty());
  BOOST_TEST(test::listFiles(z.net / "receive/rejected").empty());
  BOOST_TEST(test::listFiles(z.lgwan / "receive/done").size() == 1u);
  // Nothing personal on the internet side: its store, its folders, its
  // output (the sealed bundle has gone to the transfer product).
  const std::string internet = everythingUnder(z.net) + b.out + b.err;
  for (const char* value : {"試験", "花子", "見本", "1988-04-01", "1975-12-24"})
    BOOST_TEST(internet.find(value) == std::string::npos, "'" << value << "' found on the internet side");
  // The form file was deleted once stored (keep-done=false).
  BOOST_TEST(test::listFiles(z.net / "forms/done").empty());
}

BOOST_AUTO_TEST_CASE(check_keeps_personal_fields_out_of_the_internet_zone) {
  // A source that keeps what it took in, in the internet zone, with
  // personal fields: refused.
  Zones keeps("true");
  auto r = runRenkei({"check", "--config", keeps.netConfig()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("connector 'forms-in' keeps what it took in (done/); the internet zone keeps nothing "
                        "personal: set keep-done=false") != std::string::npos,
             r.err);
  // Personal fields to a sink that does not seal: refused.
  Zones z;
  std::string text = test::readFile(z.netConfig());
  text.replace(text.find("to=\"bridge\" mapping"), 11, "to=\"notices-out\"");
  test::writeFile(z.netConfig(), text);
  r = runRenkei({"check", "--config", z.netConfig()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("route 'apps-out': mapping 'application' targets the lgwan zone, but this instance runs in "
                        "the internet zone") != std::string::npos,
             r.err);
  // A mapping for the LGWAN zone to a bridge into the internet zone:
  // refused, naming both.
  Zones y;
  text = test::readFile(y.lgwan / "notice-map.xml");
  text.replace(text.find("zone=\"internet\""), 15, "zone=\"lgwan\"");
  test::writeFile(y.lgwan / "notice-map.xml", text);
  r = runRenkei({"check", "--config", y.lgwanConfig()});
  BOOST_TEST(r.exitCode == 2);
  BOOST_TEST(r.err.find("route 'notices-out': mapping 'notice' targets the lgwan zone, but its target delivers into "
                        "the internet zone") != std::string::npos,
             r.err);
}

BOOST_AUTO_TEST_CASE(a_changed_byte_anywhere_refuses_the_bundle_whole) {
  Zones z;
  test::writeFile(z.net / "forms/in/forms.csv", "id,name,birth\nN-1,試験 花子,1988-04-01\n");
  test::writeFile(z.lgwan / "notices/in/notices.csv", "id,status\nA-1,受付\n");
  BOOST_REQUIRE(z.once(z.net).exitCode == 0);
  BOOST_REQUIRE(z.once(z.lgwan).exitCode == 0);
  const std::string sealedBundle = test::readFile(z.net / "send/out" / test::listFiles(z.net / "send/out")[0]);
  const std::string clearBundle = test::readFile(z.lgwan / "send/out" / test::listFiles(z.lgwan / "send/out")[0]);
  auto lineStart = [](const std::string& t, int line) {
    std::size_t at = 0;
    for (int i = 0; i < line; ++i) at = t.find('\n', at) + 1;
    return at;
  };
  struct Change {
    std::string name;
    const std::string* bundle;
    std::size_t at;
    fs::path in;
  };
  const std::vector<Change> changes = {
      {"manifest", &sealedBundle, 20, z.lgwan / "receive"},
      {"sealed-payload", &sealedBundle, lineStart(sealedBundle, 1) + 30, z.lgwan / "receive"},
      {"signature", &sealedBundle, lineStart(sealedBundle, 2) + 15, z.lgwan / "receive"},
      {"record", &clearBundle, lineStart(clearBundle, 1) + 3, z.net / "receive"},
  };
  for (const Change& c : changes) {
    std::string bad = *c.bundle;
    bad[c.at] = bad[c.at] == 'A' ? 'B' : 'A';
    test::writeFile(c.in / "in" / (c.name + ".bundle"), bad);
  }
  BOOST_TEST(z.once(z.lgwan).exitCode == 0);
  BOOST_TEST(z.once(z.net).exitCode == 0);
  for (const Change& c : changes) {
    BOOST_TEST_CONTEXT("changed: " << c.name) {
      BOOST_TEST(fs::exists(c.in / "rejected" / (c.name + ".bundle")));
      BOOST_TEST(reasonOf(c.in, c.name + ".bundle").find("reason: the signature does not verify") != std::string::npos,
                 reasonOf(c.in, c.name + ".bundle"));
    }
  }
  BOOST_TEST(test::linesIn(z.lgwan / "apps/out").empty());
  BOOST_TEST(test::linesIn(z.net / "notices/out").empty());
}

BOOST_AUTO_TEST_CASE(bundles_that_break_a_rule_are_refused_whole_with_the_reason) {
  Zones z;
  const fs::path lg = z.lgwan / "receive/in", net = z.net / "receive/in";
  const std::vector<std::pair<std::string, std::string>> appFields = {{"id", "none"}, {"name", "personal"}};
  const std::vector<std::pair<std::string, std::string>> noticeFields = {{"id", "none"}, {"status", "none"}};
  // signed with another key (the LGWAN side's own, not the internet's)
  test::writeFile(lg / "other-key.bundle",
                  z.signedByLgwan(manifest("b1", "net", "internet", "lgwan", "application", noticeFields),
                                  {{"N-1", "x"}}));
  // a record type not on the allow-list
  test::writeFile(lg / "type.bundle",
                  z.signedByNet(manifest("b2", "net", "internet", "lgwan", "payment", appFields), {{"N-1", "試験"}}));
  // a 個人番号 in free text under a manifest that says none, into the internet zone
  test::writeFile(net / "mynumber.bundle",
                  z.signedByLgwan(manifest("b3", "city", "lgwan", "internet", "notice", noticeFields),
                                  {{"A-1", "番号は 1234 5678 9018 です"}}));
  // a NUL in a value
  test::writeFile(net / "nul.bundle", z.signedByLgwan(manifest("b4", "city", "lgwan", "internet", "notice", noticeFields),
                                                      {{"A-1", std::string("a\0b", 3)}}));
  // invalid UTF-8 (a lone continuation byte in the manifest's created time)
  std::string badText = z.signedByLgwan(manifest("b5", "city", "lgwan", "internet", "notice", noticeFields), {{"A-1", "x"}});
  badText.replace(badText.find("2026-12-01"), 1, "\x80");
  test::writeFile(net / "utf8.bundle", badText);
  // 10^6 records: more than max-records
  {
    bridge::Rows rows(1000000, std::vector<std::string>{"A", ""});
    test::writeFile(net / "million.bundle",
                    z.signedByLgwan(manifest("b6", "city", "lgwan", "internet", "notice", noticeFields), rows));
  }
  // a 100 MB field: more than max-bundle-bytes, refused before it is read
  {
    std::string big(100u << 20, 'x');
    test::writeFile(net / "big.bundle",
                    z.signedByLgwan(manifest("b7", "city", "lgwan", "internet", "notice", noticeFields), {{"A-1", big}}));
  }
  // a symbolic link pointing anywhere
  fs::create_symlink("/etc/passwd", net / "link.bundle");
  auto a = z.once(z.lgwan);
  BOOST_TEST(a.exitCode == 0, a.out << a.err);
  auto b = z.once(z.net);
  BOOST_TEST(b.exitCode == 0, b.out << b.err);
  const std::vector<std::tuple<fs::path, std::string, std::string>> expected = {
      {z.lgwan / "receive", "other-key.bundle", "the signature does not verify"},
      {z.lgwan / "receive", "type.bundle", "record type 'payment' is not allowed in this direction"},
      {z.net / "receive", "mynumber.bundle", "field 'status' holds what looks like a 住民票コード or 個人番号"},
      {z.net / "receive", "nul.bundle", "record 1, field 'status' holds a control character"},
      {z.net / "receive", "utf8.bundle", "invalid UTF-8 or a control character at byte"},
      {z.net / "receive", "million.bundle", "the manifest says 1000000 records, more than the limit 100000"},
      {z.net / "receive", "big.bundle", "more than the limit 67108864 (max-bundle-bytes)"},
      {z.net / "receive", "link.bundle", "a symbolic link, not a bundle"},
  };
  for (const auto& [receive, name, why] : expected) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST((fs::exists(receive / "rejected" / name) || fs::is_symlink(receive / "rejected" / name)));
      const std::string reason = reasonOf(receive, name);
      BOOST_TEST(reason.find(why) != std::string::npos, reason);
      // the reason names what failed, never a value
      BOOST_TEST(reason.find("9018") == std::string::npos);
    }
  }
  BOOST_TEST(fs::exists("/etc/passwd"));
  BOOST_TEST(test::linesIn(z.lgwan / "apps/out").empty());
  BOOST_TEST(test::linesIn(z.net / "notices/out").empty());
  BOOST_TEST(test::listFiles(lg).empty());
  BOOST_TEST(test::listFiles(net).empty());
  // Every refused bundle is a problem in renkei status (it was in none),
  // named with its reason, until an operator acknowledges it.
  auto status = runRenkei({"status", "--config", z.lgwanConfig()});
  BOOST_TEST(status.exitCode == 4, status.out);
  BOOST_TEST(status.out.find("problem: connector bridge: 'other-key.bundle' refused at ") != std::string::npos,
             status.out);
  BOOST_TEST(status.out.find("the signature does not verify") != std::string::npos, status.out);
  auto netStatus = runRenkei({"status", "--config", z.netConfig()});
  BOOST_TEST(netStatus.exitCode == 4, netStatus.out);
  for (const char* name : {"mynumber.bundle", "nul.bundle", "utf8.bundle", "million.bundle", "big.bundle", "link.bundle"})
    BOOST_TEST(netStatus.out.find(std::string("problem: connector bridge: '") + name + "' refused") != std::string::npos,
               name << " in " << netStatus.out);
  BOOST_TEST(netStatus.out.find("9018") == std::string::npos);
  auto ack = runRenkei({"status", "--config", z.lgwanConfig(), "--ack", "all", "--by", "係長"});
  BOOST_TEST(runRenkei({"status", "--config", z.lgwanConfig()}).exitCode == 0, ack.out);
}

// Duplicates and bundles out of order: test_bridge_receive (in process).

BOOST_AUTO_TEST_CASE(sigkill_of_either_side_while_bundles_flow_both_ways_loses_and_doubles_nothing) {
  Zones z;
  constexpr int kFiles = 100;  // per side: 200 bundles in all
  for (int n = 0; n < kFiles; ++n) {
    test::writeFile(z.lgwan / "notices/in" / ("n" + std::to_string(n) + ".csv"),
                    "id,status\nL" + std::to_string(n) + "-1,受付\nL" + std::to_string(n) + "-2,完了\n");
    test::writeFile(z.net / "forms/in" / ("f" + std::to_string(n) + ".csv"),
                    "id,name,birth\nF" + std::to_string(n) + ",試験 花子,1988-04-01\n");
  }
  auto start = [&](const fs::path& instance, int run) {
    return test::spawn({test::renkeiBinary(), "serve", "--config", (instance / "config.xml").string()},
                       instance / ("run" + std::to_string(run)), pluginEnv());
  };
  std::mt19937 random(20261201);
  test::Child lg = start(z.lgwan, 0), net = start(z.net, 0);
  int kills = 0, run = 1;
  while (kills < 20) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 400));
    z.transfer();
    test::Child& victim = random() % 2 ? lg : net;
    const fs::path instance = &victim == &lg ? z.lgwan : z.net;
    ::kill(victim.pid, SIGKILL);
    if (victim.wait().signal == SIGKILL) ++kills;
    victim = start(instance, run++);
  }
  // The final drain: both run until every record has crossed.
  const bool complete = test::waitFor(
      [&] {
        z.transfer();
        return test::linesIn(z.lgwan / "apps/out").size() >= kFiles &&
               test::linesIn(z.net / "notices/out").size() >= 2 * kFiles;
      },
      120);
  ::kill(lg.pid, SIGTERM);
  ::kill(net.pid, SIGTERM);
  lg.wait();
  net.wait();
  BOOST_TEST(complete);
  BOOST_TEST(kills == 20);
  const auto apps = test::linesIn(z.lgwan / "apps/out");
  const auto notices = test::linesIn(z.net / "notices/out");
  BOOST_TEST(apps.size() == static_cast<std::size_t>(kFiles));
  BOOST_TEST(notices.size() == static_cast<std::size_t>(2 * kFiles));
  BOOST_TEST(std::set<std::string>(apps.begin(), apps.end()).size() == apps.size());
  BOOST_TEST(std::set<std::string>(notices.begin(), notices.end()).size() == notices.size());
  BOOST_TEST(test::listFiles(z.lgwan / "receive/rejected").empty());
  BOOST_TEST(test::listFiles(z.net / "receive/rejected").empty());
}

namespace {


using test::freePort;

/// The two instances of Zones with applications crossing over ZeroMQ
/// instead of the folder: LGWAN listens on `port`, the internet side
/// connects with the CURVE key in `clientKeyDir`.
void useZeroMq(Zones& z, int port, const std::string& clientKeyDir) {
  const std::string keys = (z.dir / "keys").string();
  std::string lg = test::readFile(z.lgwanConfig());
  lg.replace(lg.find("    <poll-interval>"), 0,
             "    <receive-endpoint>tcp://127.0.0.1:" + std::to_string(port) + "</receive-endpoint>\n"
             "    <curve-key>" + keys + "/lgwan/bridge-curve.key</curve-key>\n"
             "    <curve-clients>" + keys + "/internet/bridge-curve.pub</curve-clients>\n");
  test::writeFile(z.lgwanConfig(), lg);
  std::string net = test::readFile(z.netConfig());
  net.replace(net.find("<send-folder>send</send-folder>"), 31,
              "<send-endpoint>tcp://127.0.0.1:" + std::to_string(port) + "</send-endpoint>\n"
              "    <curve-key>" + keys + "/" + clientKeyDir + "/bridge-curve.key</curve-key>\n"
              "    <curve-server-key>" + keys + "/lgwan/bridge-curve.pub</curve-server-key>\n"
              "    <ack-timeout>1s</ack-timeout>");
  test::writeFile(z.netConfig(), net);
}

}  // namespace

BOOST_AUTO_TEST_CASE(zeromq_with_curve_acknowledges_after_commit_and_lets_no_other_key_in) {
  Zones z;
  const int port = freePort();
  useZeroMq(z, port, "internet");
  auto check = runRenkei({"check", "--config", z.netConfig()});
  BOOST_REQUIRE_MESSAGE(check.exitCode == 0, check.err);
  auto lg = test::spawn({test::renkeiBinary(), "serve", "--config", z.lgwanConfig()}, z.lgwan / "serve", pluginEnv());
  BOOST_REQUIRE(test::waitFor([&] { return (test::textOf(lg.err) + test::textOf(lg.out)).find("listening for bundles on tcp://127.0.0.1:") !=
                                     std::string::npos; },
                        20));
  test::writeFile(z.net / "forms/in/forms.csv", "id,name,birth\nN-1,試験 花子,1988-04-01\nN-2,見本 太郎,1975-12-24\n");
  auto b = z.once(z.net);
  BOOST_TEST(b.exitCode == 0, b.out << b.err);
  BOOST_TEST(b.out.find("2 records delivered") != std::string::npos, b.out);
  // Acknowledged means committed: the records are there by now.
  BOOST_TEST(test::waitFor([&] { return test::linesIn(z.lgwan / "apps/out").size() == 2; }, 20));
  BOOST_TEST(test::listFiles(z.net / "send/out").empty());

  // A sender whose CURVE key is not on the receiver's list gets nothing:
  // no answer, the batch stays in its outbox.
  Zones other;
  useZeroMq(other, port, "lgwan-old");
  // the same receiver: the other tree's keys are not the receiver's clients
  std::string net = test::readFile(other.netConfig());
  const std::string ownKeys = (other.dir / "keys").string(), receiverKeys = (z.dir / "keys").string();
  net.replace(net.find(ownKeys + "/lgwan/bridge-curve.pub"), ownKeys.size(), receiverKeys);
  test::writeFile(other.netConfig(), net);
  test::writeFile(other.net / "forms/in/forms.csv", "id,name,birth\nX-1,例題 次郎,1990-01-01\n");
  auto c = z.once(other.net);
  BOOST_TEST(c.exitCode != 0, c.out << c.err);
  BOOST_TEST(c.out.find("0 records delivered") != std::string::npos, c.out);
  BOOST_TEST((c.out + c.err).find("no acknowledgement within 1000 ms") != std::string::npos, c.out << c.err);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  BOOST_TEST(test::linesIn(z.lgwan / "apps/out").size() == 2u);
  BOOST_TEST(test::listFiles(z.lgwan / "receive/rejected").empty());
  ::kill(lg.pid, SIGTERM);
  lg.wait();
}

// 1,100 TCP connections with no key at all once took every descriptor the
// receiving host had (libzmq accepts them all and checks the key only after
// the handshake). The bridge's gate admits a few per address and cuts those
// that do not greet in time; run with 1,024 descriptors, the real sender's
// bundle still arrives while the flood is connected.
BOOST_AUTO_TEST_CASE(a_flood_of_connections_to_the_zeromq_receiver_stops_nothing) {
  Zones z;
  const int port = freePort();
  useZeroMq(z, port, "internet");
  auto lg = test::spawn({"/usr/bin/prlimit", "--nofile=1024:1024", test::renkeiBinary(), "serve", "--config",
                         z.lgwanConfig()},
                        z.lgwan / "serve", pluginEnv());
  BOOST_REQUIRE(test::waitFor([&] { return (test::textOf(lg.err) + test::textOf(lg.out)).find("listening for bundles on tcp://127.0.0.1:") !=
                                     std::string::npos; },
                        20));
  std::vector<int> flood;
  for (int i = 0; i < 1100; ++i) {
    if (const int fd = test::connectFrom(port, "127.0.0.2"); fd >= 0) flood.push_back(fd);
    // Paced a little: a listen backlog that overflows drops the client's
    // last handshake packet, and such a connection is open on the client's
    // side only (the kernel's doing, not the bridge's).
    if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  test::writeFile(z.net / "forms/in/forms.csv", "id,name,birth\nN-1,試験 花子,1988-04-01\nN-2,見本 太郎,1975-12-24\n");
  auto b = z.once(z.net);
  BOOST_TEST(b.exitCode == 0, b.out << b.err);
  BOOST_TEST(test::waitFor([&] { return test::linesIn(z.lgwan / "apps/out").size() == 2; }, 20));
  // Every flood connection is closed: at once, or when its handshake time ran out.
  int closed = 0;
  for (int fd : flood) closed += test::closedWithin(fd, 7000) ? 1 : 0;
  BOOST_TEST(closed == static_cast<int>(flood.size()));
  for (int fd : flood) ::close(fd);
  const std::string log = test::textOf(lg.err);
  BOOST_TEST(log.find("address=127.0.0.2 connection closed: this address holds its most connections") !=
                 std::string::npos,
             log);
  BOOST_TEST(log.find("no ZMTP greeting within the handshake time") != std::string::npos, log);
  BOOST_TEST(log.find("Too many open files") == std::string::npos, log);
  ::kill(lg.pid, SIGTERM);
  auto r = lg.wait();
  BOOST_TEST(r.exitCode == 0, r.err);
}

// A peer with a valid key sending what is not a bundle: each is refused and
// kept in rejected/ for the operator, but rejected/ is bounded — beyond
// max-rejected-bytes only the reason is kept (63 MiB frames were kept
// without bound) — and emptied after keep-rejected-for (the host run 31
// days ahead of the machine's clock).
BOOST_AUTO_TEST_CASE(rejected_keeps_what_it_may_and_for_as_long_as_it_may) {
  Zones z;
  const int port = freePort();
  useZeroMq(z, port, "internet");
  std::string lgConfig = test::readFile(z.lgwanConfig());
  lgConfig.replace(lgConfig.find("    <receive-endpoint>"), 0, "    <max-rejected-bytes>64KiB</max-rejected-bytes>\n");
  test::writeFile(z.lgwanConfig(), lgConfig);
  auto lg = test::spawn({test::renkeiBinary(), "serve", "--config", z.lgwanConfig()}, z.lgwan / "serve", pluginEnv());
  BOOST_REQUIRE(test::waitFor([&] { return (test::textOf(lg.err) + test::textOf(lg.out)).find("listening for bundles on tcp://127.0.0.1:") !=
                                     std::string::npos; },
                        20));
  const std::string keys = (z.dir / "keys").string();
  connectors::channel::ZmqSender sender("tcp://127.0.0.1:" + std::to_string(port), connectors::channel::readCurveKey(keys + "/lgwan/bridge-curve.pub"),
                           connectors::channel::readCurveKey(keys + "/internet/bridge-curve.key"), std::chrono::seconds(10));
  BOOST_TEST((sender.send(std::string(10 * 1024, 'x')).kind == connectors::channel::ZmqReply::Kind::Rejected));
  BOOST_TEST((sender.send(std::string(100 * 1024, 'y')).kind == connectors::channel::ZmqReply::Kind::Rejected));
  ::kill(lg.pid, SIGTERM);
  lg.wait();
  const fs::path rejected = z.lgwan / "receive/rejected";
  std::size_t bundles = 0, reasons = 0, bytes = 0;
  std::string texts;
  for (const std::string& f : test::listFiles(rejected)) {
    if (f.size() > 11 && f.compare(f.size() - 11, 11, ".reason.txt") == 0) {
      ++reasons;
      texts += test::readFile(rejected / f);
    } else {
      ++bundles;
      bytes += fs::file_size(rejected / f);
    }
  }
  BOOST_TEST(reasons == 2u);
  BOOST_TEST(bundles == 1u);  // the 10 KiB one; the 100 KiB one would pass 64 KiB
  BOOST_TEST(bytes == 10u * 1024);
  BOOST_TEST(texts.find("the bundle itself was not kept: rejected/ holds max-rejected-bytes") != std::string::npos, texts);
  // A month on: rejected/ keeps nothing older than keep-rejected-for (30d).
  auto later = test::run({"/usr/bin/faketime", "-f", "+31d", test::renkeiBinary(), "serve", "--once", "--config",
                          z.lgwanConfig()},
                         pluginEnv());
  BOOST_TEST(test::listFiles(rejected).empty(), later.err);
  BOOST_TEST(later.err.find("in rejected/ older than keep-rejected-for removed") != std::string::npos, later.err);
}

BOOST_AUTO_TEST_CASE(zeromq_sender_keeps_its_bundles_while_the_receiver_is_down_for_a_minute) {
  Zones z;
  const int port = freePort();
  useZeroMq(z, port, "internet");
  // retries every few seconds at most, so the return is seen soon
  std::string net = test::readFile(z.netConfig());
  net.replace(net.find("retry-max=\"500ms\""), 17, "retry-max=\"3s\" max-attempts=\"1000\"");
  test::writeFile(z.netConfig(), net);
  for (int n = 0; n < 5; ++n)
    test::writeFile(z.net / "forms/in" / ("f" + std::to_string(n) + ".csv"),
                    "id,name,birth\nF" + std::to_string(n) + ",試験 花子,1988-04-01\n");
  auto sender = test::spawn({test::renkeiBinary(), "serve", "--config", z.netConfig()}, z.net / "serve", pluginEnv());
  const auto down = std::chrono::steady_clock::now();
  // The receiver is down: the sender retries and keeps the batches.
  std::this_thread::sleep_for(std::chrono::seconds(60));
  test::ProcessResult early;
  BOOST_TEST(!sender.finished(early), early.err);
  BOOST_TEST(test::linesIn(z.lgwan / "apps/out").empty());
  auto lg = test::spawn({test::renkeiBinary(), "serve", "--config", z.lgwanConfig()}, z.lgwan / "serve", pluginEnv());
  const bool all = test::waitFor([&] { return test::linesIn(z.lgwan / "apps/out").size() == 5; }, 60);
  BOOST_TEST(all, "delivered " << test::linesIn(z.lgwan / "apps/out").size() << " of 5 after the receiver returned");
  BOOST_TEST((std::chrono::steady_clock::now() - down >= std::chrono::seconds(60)));
  ::kill(sender.pid, SIGTERM);
  ::kill(lg.pid, SIGTERM);
  const auto s = sender.wait();
  lg.wait();
  BOOST_TEST(s.out.find("0 dead letters") != std::string::npos, s.out);
}

// The bridge adds a page to the operator listener (HostServices::admin):
// what waits for approval, listed at /plugins and served at
// /plugins/bridge/pending without a line of the host naming the bridge.
BOOST_AUTO_TEST_CASE(bundles_waiting_for_approval_are_a_page_on_the_admin_listener) {
  Zones z;
  std::string lg = test::readFile(z.lgwanConfig());
  lg.replace(lg.find("    <to-zone>"), 0, "    <approval>true</approval>\n");
  lg.replace(lg.find("  <store "), 0, "  <admin address=\"127.0.0.1\" port=\"0\"/>\n");
  test::writeFile(z.lgwanConfig(), lg);
  test::writeFile(z.lgwan / "notices/in/n1.csv", "id,status\nA-1,受付\n");
  BOOST_REQUIRE(z.once(z.lgwan).exitCode == 0);
  auto host = test::spawn({test::renkeiBinary(), "serve", "--config", z.lgwanConfig()}, z.lgwan / "serve", pluginEnv());
  const int port = test::adminPort(host);
  BOOST_TEST_REQUIRE(port != 0, test::textOf(host.err));
  const auto index = test::httpGet(port, "/plugins");
  BOOST_TEST(index.status == 200);
  BOOST_TEST(index.body.find("\"path\":\"/plugins/bridge/pending\"") != std::string::npos, index.body);
  BOOST_TEST(index.body.find("\"permission\":\"view\"") != std::string::npos, index.body);
  const auto page = test::httpGet(port, "/plugins/bridge/pending");
  BOOST_TEST(page.status == 200, page.body);
  BOOST_TEST(page.body.find("\"bundle\":\"city.000000000001.bundle\"") != std::string::npos, page.body);
  BOOST_TEST(page.body.find("notice, 1 records, sequence 1, to the internet zone") != std::string::npos, page.body);
  BOOST_TEST(page.body.find("A-1") == std::string::npos, page.body);  // names and counts, never values
  BOOST_TEST(test::httpGet(port, "/plugins/bridge/nothing").status == 404);
  BOOST_TEST(test::httpGet(port, "/plugins/notices-in/pending").status == 404);
  ::kill(host.pid, SIGTERM);
  host.wait();
  // Each page call is in the audit trail with where it came from.
  BOOST_TEST(test::textOf(host.err).find("call=admin bridge/pending") != std::string::npos, test::textOf(host.err));
}

BOOST_AUTO_TEST_CASE(an_operator_approves_or_rejects_what_leaves_for_the_internet_zone) {
  Zones z;
  std::string lg = test::readFile(z.lgwanConfig());
  lg.replace(lg.find("    <to-zone>"), 0, "    <approval>true</approval>\n");
  test::writeFile(z.lgwanConfig(), lg);
  for (int n = 1; n <= 2; ++n) {
    test::writeFile(z.lgwan / "notices/in" / ("n" + std::to_string(n) + ".csv"),
                    "id,status\nA-" + std::to_string(n) + ",受付\n");
    BOOST_REQUIRE(z.once(z.lgwan).exitCode == 0);
  }
  // Held: nothing in out/ for the transfer product.
  BOOST_TEST(test::listFiles(z.lgwan / "send/out").empty());
  BOOST_TEST(test::listFiles(z.lgwan / "send/pending-approval").size() == 2u);
  auto pending = runRenkei({"bridge", "pending", "--config", z.lgwanConfig()});
  BOOST_TEST(pending.exitCode == 0, pending.err);
  BOOST_TEST(pending.out.find("city.000000000001.bundle  notice, 1 records, sequence 1, to the internet zone") !=
                 std::string::npos,
             pending.out);
  BOOST_TEST(pending.out.find("2 bundles wait for approval") != std::string::npos, pending.out);
  // Approve one, reject the other (with the reason), each by name.
  auto approve = runRenkei({"bridge", "approve", "--config", z.lgwanConfig(), "--bundle", "city.000000000001.bundle",
                            "--by", "tanaka"});
  BOOST_TEST(approve.exitCode == 0, approve.err);
  BOOST_TEST(approve.out.find("approved: city.000000000001.bundle") != std::string::npos, approve.out);
  auto noReason = runRenkei({"bridge", "reject", "--config", z.lgwanConfig(), "--bundle", "city.000000000002.bundle",
                             "--by", "suzuki"});
  BOOST_TEST(noReason.exitCode == 2);
  BOOST_TEST(noReason.err.find("--reason TEXT is required") != std::string::npos, noReason.err);
  auto reject = runRenkei({"bridge", "reject", "--config", z.lgwanConfig(), "--bundle", "city.000000000002.bundle",
                           "--reason", "wrong template", "--by", "suzuki"});
  BOOST_TEST(reject.exitCode == 0, reject.err);
  auto unknown = runRenkei({"bridge", "approve", "--config", z.lgwanConfig(), "--bundle", "../renkei.db", "--by", "x"});
  BOOST_TEST(unknown.exitCode == 2);
  auto gone = runRenkei({"bridge", "approve", "--config", z.lgwanConfig(), "--bundle", "city.000000000009.bundle",
                         "--by", "x"});
  BOOST_TEST(gone.exitCode == 1);
  BOOST_TEST(gone.err.find("no bundle 'city.000000000009.bundle' waits for approval") != std::string::npos, gone.err);
  BOOST_TEST(test::listFiles(z.lgwan / "send/out") == std::vector<std::string>{"city.000000000001.bundle"});
  BOOST_TEST(test::readFile(z.lgwan / "send/rejected/city.000000000002.bundle.reason.txt").find("reason: wrong template") !=
             std::string::npos);
  // Audited: who did what, in the operators' log.
  auto status = runRenkei({"status", "--config", z.lgwanConfig()});
  BOOST_TEST(status.out.find("tanaka  bridge approve: connector bridge: approved bundle city.000000000001.bundle") !=
                 std::string::npos,
             status.out);
  BOOST_TEST(status.out.find("suzuki  bridge reject: connector bridge: rejected bundle city.000000000002.bundle") !=
                 std::string::npos,
             status.out);
  // Only the approved one crosses.
  BOOST_TEST(z.transfer() == 1);
  BOOST_TEST(z.once(z.net).exitCode == 0);
  const auto lines = test::linesIn(z.net / "notices/out");
  BOOST_REQUIRE_EQUAL(lines.size(), 1u);
  BOOST_TEST(lines[0].find("A-1") != std::string::npos);

  // The transfer product lost what it took (the internet side never read
  // it): `renkei replay` writes the approved bundle to out/ again, byte for
  // byte as approved (once said "delivered" and wrote nothing); the
  // rejected one stays rejected, and nothing waits for approval again.
  const std::string approvedBytes = test::readFile(z.lgwan / "send/approved/city.000000000001.bundle");
  BOOST_TEST(approvedBytes.rfind("{", 0) == 0u);  // the bundle itself, not a note
  BOOST_TEST(test::readFile(z.lgwan / "send/approved/city.000000000001.bundle.note.txt").find("by: tanaka") !=
             std::string::npos);
  auto replay = runRenkei({"replay", "--route", "notices-out", "--since", "1h", "--by", "tanaka", "--config",
                           z.lgwanConfig()});
  BOOST_TEST(replay.exitCode == 0, replay.err);
  auto again = z.once(z.lgwan);
  BOOST_TEST(again.exitCode == 0, again.err);
  BOOST_TEST(test::listFiles(z.lgwan / "send/out") == std::vector<std::string>{"city.000000000001.bundle"});
  BOOST_TEST(test::readFile(z.lgwan / "send/out/city.000000000001.bundle") == approvedBytes);
  BOOST_TEST(test::listFiles(z.lgwan / "send/pending-approval").empty());
  BOOST_TEST(again.err.find("was approved before: written to out/ again as approved") != std::string::npos, again.err);
  BOOST_TEST(again.err.find("was rejected by an operator (rejected/city.000000000002.bundle): not written again") !=
                 std::string::npos,
             again.err);
  // The receiver had it already: acknowledged, nothing twice.
  BOOST_TEST(z.transfer() == 1);
  BOOST_TEST(z.once(z.net).exitCode == 0);
  BOOST_TEST(test::linesIn(z.net / "notices/out").size() == 1u);
}
